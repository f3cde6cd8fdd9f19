"""Region mode: gap maps over a mosaic of DSM or CHM tiles, in blocks on Dask.

``region`` (in ``run.py``) is the one engine call behind ``forestgaps region`` and the
Processing algorithm "Detect gaps over a region".
"""
