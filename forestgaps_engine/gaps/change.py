"""Gap change between two dates, cell by cell: ForestGapR's ``GapChangeDec`` and four classes.

``GapChangeDec(before, after)`` sets every gap cell of ``before`` to 1 and of ``after`` to 2,
everything else to 0, subtracts, and keeps only the difference 2: a cell that is gap after
and not gap before (a new gap). Every other cell is NA. Cells without data on a date are
NA in that date's gap layer, hence "not gap", exactly as in R.

The classes raster says what happened to every cell observed on both dates.
"""

from __future__ import annotations

import numpy as np

from forestgaps_engine.geo.raster_io import RasterProfile

NEW_GAP_VALUE = 2  # GapChangeDec's value: gap_layer2 (2) - gap_layer1 (0)
# ForestGapR's reference file stores NA as INT32_MIN in an int32 band; ours matches it.
CHANGE_NODATA = int(np.iinfo(np.int32).min)
CHANGE_PROFILE = RasterProfile(dtype="int32", nodata=CHANGE_NODATA, predictor=2)

NEVER_GAP = 0
PERSISTENT_GAP = 1
NEW_GAP = 2  # formation; equal to GapChangeDec's value on purpose
CLOSED_GAP = 3  # recovery
CLASSES_NODATA = 255
CLASS_NAMES = {
    NEVER_GAP: "never gap",
    PERSISTENT_GAP: "persistent gap",
    NEW_GAP: "new gap (formation)",
    CLOSED_GAP: "closed gap (recovery)",
}
CLASSES_PROFILE = RasterProfile(dtype="uint8", nodata=CLASSES_NODATA, predictor=2)


def gap_change_cells(before_ids: np.ndarray, after_ids: np.ndarray) -> np.ndarray:
    """ForestGapR's ``GapChangeDec``: new-gap cells between two gap layers.

    Args:
        before_ids: (H, W) int gap ids of the first date, 0 = no gap.
        after_ids: (H, W) int gap ids of the second date on the same grid, 0 = no gap.

    Returns:
        (H, W) int32: ``NEW_GAP_VALUE`` where a cell is gap after and not before,
        ``CHANGE_NODATA`` everywhere else.
    """
    _check_same_shape(before_ids, after_ids)
    is_new = (np.asarray(after_ids) > 0) & ~(np.asarray(before_ids) > 0)
    return np.where(is_new, NEW_GAP_VALUE, CHANGE_NODATA).astype(np.int32)


def change_classes(
    before_ids: np.ndarray, after_ids: np.ndarray, is_observed: np.ndarray
) -> np.ndarray:
    """Every cell as never gap, persistent gap, new gap or closed gap.

    Args:
        before_ids: (H, W) int gap ids of the first date, 0 = no gap.
        after_ids: (H, W) int gap ids of the second date, 0 = no gap.
        is_observed: (H, W) bool, True where both dates have data.

    Returns:
        (H, W) uint8 class values (``NEVER_GAP`` .. ``CLOSED_GAP``), ``CLASSES_NODATA``
        where a date has no data.
    """
    _check_same_shape(before_ids, after_ids)
    _check_same_shape(before_ids, is_observed)
    # Indexed [gap before][gap after].
    table = np.array([[NEVER_GAP, NEW_GAP], [CLOSED_GAP, PERSISTENT_GAP]], dtype=np.uint8)
    classes = table[(np.asarray(before_ids) > 0).astype(int), (np.asarray(after_ids) > 0).astype(int)]
    classes[~np.asarray(is_observed, dtype=bool)] = CLASSES_NODATA
    return classes


def _check_same_shape(first: np.ndarray, second: np.ndarray) -> None:
    if np.shape(first) != np.shape(second):
        raise ValueError(f"rasters differ in shape: {np.shape(first)} and {np.shape(second)}")
