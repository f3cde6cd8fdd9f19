"""Training data: sites → harmonized grid → labels → tiles → site split → tar shards.

Public entry points: ``prepare`` (in ``prepare.py``), the datasets in ``datasets.py``
(the ``Normalizer`` they feed lives with the model, in ``models/normalization.py``). Submodules are imported on use so that importing
this package does not pull in torch or rasterio.
"""
