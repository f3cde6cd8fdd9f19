"""The cut of gap probabilities into gap / not gap / nodata cells, and its raster profile.

``predict`` cuts each strip of probabilities as it writes it; post-processing labels the
cut. The mask values are the gap mask's: 1 gap, 0 not gap, 255 nodata.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

MASK_GAP, MASK_NOT_GAP, MASK_NODATA = 1, 0, 255


def mask_cells(is_gap: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """uint8 gap mask: 1 where ``is_gap``, 0 elsewhere, 255 where not ``valid``."""
    strip = is_gap.astype(np.uint8)
    strip[~valid] = MASK_NODATA
    return strip


def cut_profile() -> Any:
    """The cut rasters' profile: temporaries read back once, so uncompressed."""
    from forestgaps_engine.geo.raster_io import MASK_PROFILE

    return dataclasses.replace(MASK_PROFILE, compress=False)
