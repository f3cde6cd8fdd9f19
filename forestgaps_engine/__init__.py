"""ForestGaps engine: canopy gap detection from height rasters.

Pure Python + PyTorch; never imports Qt or QGIS. Heavy dependencies (torch, rasterio)
are imported by the submodules that need them, so ``import forestgaps_engine`` is cheap.
"""

from forestgaps_engine.version import __version__

__all__ = ["__version__"]
