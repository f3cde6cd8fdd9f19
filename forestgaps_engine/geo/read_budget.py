"""Memory a whole-raster read needs, checked before GDAL decodes a single block.

A compressed GeoTIFF of 900 MPix is a few hundred MB on disk and about 9 GB once read as
heights with a validity mask; reading it anyway ends in a ``MemoryError`` minutes later
(or the system killing the process, QGIS with it). The decoded size is known from the
header, so the read is refused up front with the figures and the fix.
"""

from __future__ import annotations

import numpy as np

from forestgaps_engine.errors import DataError
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.machine import available_memory_bytes

# Per cell, beyond the band's own bytes: GDAL's mask (1), the float32 copy (4), the NaN
# filled values (4), the validity (1) and one bool temporary (1); callers then build a
# label or mask raster of the same size (4), so the read must leave that much free.
READ_BYTES_PER_CELL_EXTRA = 15
_GB = 1024**3


def check_read_memory(source: str, grid: Grid, dtype: str) -> None:
    """Refuse to read ``grid`` whole when it needs more memory than is available.

    Args:
        source: the file, for the message.
        grid: the cells to read (a window's grid for a windowed read).
        dtype: the band's data type.

    Raises:
        DataError: the decoded raster needs more than the memory available now.
    """
    needed = grid.height_px * grid.width_px * (np.dtype(dtype).itemsize + READ_BYTES_PER_CELL_EXTRA)
    available = available_memory_bytes()
    if available <= 0 or needed <= available:
        return
    cells_mpix = grid.height_px * grid.width_px / 1e6
    raise DataError(
        f"{source}: {grid.width_px} x {grid.height_px} cells ({cells_mpix:.0f} MPix) need "
        f"about {needed / _GB:.1f} GB of memory to read, and {available / _GB:.1f} GB is "
        "available",
        hint="Cut the raster into tiles (e.g. gdal_retile.py -ps 10000 10000) and process "
        "each, or free memory and try again.",
    )
