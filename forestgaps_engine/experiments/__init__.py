"""Experiments above training: the architecture benchmark, tuning (Optuna) and held-out runs.

They prepare data, train and score models, so they sit above ``training`` and
``evaluation``; only the CLI imports this room.
"""
