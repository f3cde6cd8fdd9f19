"""Training data: sites → harmonized grid → labels → tiles → site split → tar shards.

Public entry points: ``prepare`` (in ``prepare.py``), the datasets in ``datasets.py``,
``Normalizer`` in ``normalization.py``. Submodules are imported on use so that importing
this package does not pull in torch or rasterio.
"""
