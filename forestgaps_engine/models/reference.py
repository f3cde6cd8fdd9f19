"""The tile's low reference height rule, shared by the torch ``Normalizer`` and data statistics.

Torch-free so that ``data.statistics`` (NumPy, run while preparing) and
``models.normalization`` (torch, run with the model) read one constant.
"""

# Rank of the reference among a tile's sorted valid cells, percent: index
# ((n - 1) * percent) // 100 in integers, so NumPy and torch pick the same cell.
TILE_REFERENCE_PERCENT = 2
