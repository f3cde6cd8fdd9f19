"""The classic gap detector with ForestGapR's ``getForestGaps`` semantics, pixel for pixel.

A cell is gap when its height is ``<=`` the threshold; gap cells form 8-connected patches;
a patch is kept when its area (cells x cell area) lies within ``[min_area, max_area]``, both
bounds inclusive. Kept patches are numbered 1..n in row-major order of their first cell,
which is how ``terra::patches`` numbers the filtered raster in ForestGapR.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def label_gaps(
    height_m: np.ndarray,
    threshold_m: float,
    cell_area_m2: float,
    min_area_m2: float,
    max_area_m2: float,
) -> np.ndarray:
    """Label canopy gaps in a height raster.

    Args:
        height_m: (H, W) canopy heights in metres; NaN marks nodata, which is never gap
            and separates patches.
        threshold_m: gap cells have ``height_m <= threshold_m``.
        cell_area_m2: area of one cell.
        min_area_m2: smallest kept gap area (inclusive).
        max_area_m2: largest kept gap area (inclusive).

    Returns:
        (H, W) int32 gap ids, 0 = no gap, kept gaps numbered 1..n in row-major order of
        their first cell. All zeros when no gap survives.
    """
    # Compare in float64, as R does after reading float32 heights as doubles: a threshold
    # such as 2.3 then cuts exactly where ForestGapR cuts. NaN <= t is False.
    is_gap = np.asarray(height_m, dtype=np.float64) <= float(threshold_m)
    patches, n_patches = ndimage.label(is_gap, structure=EIGHT_CONNECTED)
    if n_patches == 0:
        return np.zeros(is_gap.shape, dtype=np.int32)
    # ndimage.label numbers patches in row-major order of their first cell, so keeping
    # the order of the survivors reproduces terra::patches on the filtered raster.
    area_m2 = np.bincount(patches.ravel(), minlength=n_patches + 1) * float(cell_area_m2)
    is_kept = (area_m2 >= min_area_m2) & (area_m2 <= max_area_m2)
    is_kept[0] = False
    new_id = np.zeros(n_patches + 1, dtype=np.int32)
    new_id[is_kept] = np.arange(1, int(is_kept.sum()) + 1, dtype=np.int32)
    return new_id[patches]
