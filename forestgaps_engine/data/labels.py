"""Gap masks of a whole site, one per threshold (labels are made before tiling)."""

from __future__ import annotations

from typing import Any

import numpy as np

from forestgaps_engine.config.gaps import GapsConfig
from forestgaps_engine.geo.raster_io import Band


def gap_masks(chm: Band, gaps: GapsConfig) -> np.ndarray:
    """(T, H, W) uint8 masks, 1 = gap cell at ``gaps.thresholds_m[t]``.

    Labelling the whole site (not each tile) keeps every gap's true area, so the area
    bounds treat a gap cut by a tile edge like the classic detector does on the raster.

    Args:
        chm: canopy heights (H, W), metres, NaN at nodata (never gap).
        gaps: thresholds and area bounds (ForestGapR semantics).
    """
    from forestgaps_engine.gaps.detector import label_gaps

    heights_m = np.where(chm.valid, chm.values, np.nan)
    masks = np.zeros((len(gaps.thresholds_m), *chm.grid.shape), dtype=np.uint8)
    for index, threshold_m in enumerate(gaps.thresholds_m):
        ids = label_gaps(
            heights_m,
            threshold_m,
            chm.grid.cell_area_m2,
            gaps.min_area_m2,
            gaps.max_area_m2,
        )
        masks[index] = ids > 0
    return masks


def labelling_record(gaps: GapsConfig, cell_area_m2: float) -> dict[str, Any]:
    """How labels were made, for the per-tile record."""
    return {
        "detector": "forestgaps_engine.gaps.detector.label_gaps (ForestGapR getForestGaps)",
        "rule": "gap cell: chm <= threshold; 8-connected patches; min <= area <= max",
        "thresholds_m": list(gaps.thresholds_m),
        "min_area_m2": gaps.min_area_m2,
        "max_area_m2": gaps.max_area_m2,
        "cell_area_m2": cell_area_m2,
        "labelled_on": "whole site, before tiling",
    }
