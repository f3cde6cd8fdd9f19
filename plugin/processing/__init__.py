"""QGIS Processing face of ForestGaps: the provider and one module per algorithm."""
