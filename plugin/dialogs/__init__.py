"""Dialogs of the ForestGaps plugin."""
