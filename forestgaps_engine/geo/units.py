"""Vertical unit checks: heights whose range only makes sense in feet or centimetres.

ForestGaps works in metres (``threshold_m``, ``area_m2``). Only values that are clearly not
metres are rejected; a DSM in feet on low ground cannot be told from one in metres.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np

from forestgaps_engine.errors import DataError

logger = logging.getLogger(__name__)

HeightKind = Literal["chm", "elevation"]

# Tallest known trees are about 100-116 m; a canopy 99th percentile above this is not metres.
CHM_MAX_PLAUSIBLE_M = 130.0
# Above this a CHM in feet would still be under 400 ft; beyond it only cm/mm make sense.
CHM_MAX_IF_FEET = 400.0
# A CHM always has cells near the ground (gaps, clearings, low shrubs): one whose lowest
# 1 % is above this, and above DSM_LOW_TO_HIGH_MIN of its highest 1 %, is an elevation
# model (a DSM at 1346-1408 m: relief small next to elevation), not heights above ground.
# The ratio leaves a CHM in centimetres or millimetres (its lowest 1 % well under its
# canopy, 3000-4500 cm at least 1.5x apart) to the unit check.
DSM_AS_CHM_MIN_LOW_M = 60.0
DSM_LOW_TO_HIGH_MIN = 0.75
# Highest ground on Earth is 8849 m and the lowest dry land about -430 m.
ELEVATION_MAX_M = 9000.0
ELEVATION_MIN_M = -500.0


def low_high_percentiles(values: np.ndarray, valid: np.ndarray) -> tuple[float, float]:
    """The 1st and 99th percentiles of ``values[valid]`` (of a sample past 200 000 cells)."""
    finite = values[valid]
    if finite.size > 200_000:
        # A strided sample keeps the check O(1) in memory on big rasters.
        finite = finite[:: finite.size // 200_000]
    low, high = np.percentile(finite, [1, 99])
    return float(low), float(high)


def check_vertical_units(
    values: np.ndarray, valid: np.ndarray, kind: HeightKind, source: str
) -> None:
    """Reject heights whose range only makes sense in feet or centimetres.

    Args:
        values: (H, W) heights, NaN where invalid.
        valid: (H, W) bool validity mask.
        kind: ``"chm"`` for heights above ground, ``"elevation"`` for a DSM/DTM.
        source: file name used in messages.

    Raises:
        DataError: the 1st-99th percentile range is implausible for metres.
    """
    if not valid.any():
        return
    low_m, high_m = low_high_percentiles(values, valid)
    if kind == "chm":
        if low_m > DSM_AS_CHM_MIN_LOW_M and low_m >= DSM_LOW_TO_HIGH_MIN * high_m:
            raise DataError(
                f"{source}: this looks like a DSM (heights {low_m:.0f}-{high_m:.0f} m, no "
                "cell near the ground), not a CHM of heights above ground",
                hint="Pass the CHM; or predict gaps from the DSM itself (forestgaps predict "
                "DSM.tif); or compute CHM = DSM - DTM first (gdal_calc.py -A DSM.tif -B "
                "DTM.tif --calc=A-B --outfile CHM.tif).",
            )
        if high_m > CHM_MAX_IF_FEET:
            raise DataError(
                f"{source}: canopy heights reach {high_m:.0f} (99th percentile); "
                "that looks like centimetres or millimetres, not metres",
                hint="Divide the heights by 100 (cm) or 1000 (mm), e.g. with gdal_calc.py.",
            )
        if high_m > CHM_MAX_PLAUSIBLE_M:
            raise DataError(
                f"{source}: canopy heights reach {high_m:.0f} (99th percentile); "
                "no forest is that tall in metres: the heights look like feet",
                hint="Multiply the heights by 0.3048 to get metres, e.g. with gdal_calc.py.",
            )
        if low_m < -5.0:
            logger.warning(
                "%s: 1%% of canopy heights are below %.1f m; is this really a CHM "
                "(heights above ground) and not a DSM?",
                source,
                low_m,
            )
        return
    if high_m > ELEVATION_MAX_M or low_m < ELEVATION_MIN_M:
        raise DataError(
            f"{source}: elevations span {low_m:.0f} to {high_m:.0f}, outside what metres "
            f"allow on Earth ({ELEVATION_MIN_M:.0f} to {ELEVATION_MAX_M:.0f} m); they look "
            "like feet or centimetres",
            hint="Convert the heights to metres (x 0.3048 for feet, / 100 for cm).",
        )
