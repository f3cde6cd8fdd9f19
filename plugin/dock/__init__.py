"""The ForestGaps dock: widgets -> a frozen :class:`InferenceParams`; no processing here."""
