"""Metrics, written once: pixel counts and scores, objects matched by IoU, boundary F1, coarse-grid gap fractions.

A low room: it imports only ``geo`` (the grid) and the foundation, so training
(validation), evaluation, experiments and detection all score with the same code.
"""
