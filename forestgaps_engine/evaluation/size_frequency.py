"""Gap size-frequency exponents of a prediction next to the reference's.

The exponents are ForestGapR's (``gaps.size_law``): Hanel 2017 (continuous power law,
xmin = smallest gap) and Asner 2013 (zeta law, xmin = 1 m2). A method that merges or
splits gaps shifts them even when its pixel IoU looks fine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forestgaps_engine.gaps.size_law import lambda_asner_2013, lambda_hanel_2017
from forestgaps_engine.metrics.objects import as_objects


def gap_areas_m2(gaps: np.ndarray, cell_area_m2: float) -> np.ndarray:
    """(n,) areas of the gaps of a mask (8-connected) or id raster, m2."""
    ids = as_objects(gaps)
    counts = np.bincount(ids.ravel())[1:]
    return counts[counts > 0] * float(cell_area_m2)


@dataclass(frozen=True)
class SizeFrequency:
    """Exponents (None when fewer than 2 gaps leave a fit undefined)."""

    n_reference: int
    n_predicted: int
    hanel_reference: float | None
    hanel_predicted: float | None
    asner_reference: float | None
    asner_predicted: float | None


def size_frequency(
    reference: np.ndarray, predicted: np.ndarray, cell_area_m2: float
) -> SizeFrequency:
    """Both exponents for the reference and the predicted gaps.

    Args:
        reference: (H, W) reference gap ids or mask.
        predicted: (H, W) predicted gap ids or mask.
        cell_area_m2: area of one cell.
    """
    ref_areas = gap_areas_m2(reference, cell_area_m2)
    pred_areas = gap_areas_m2(predicted, cell_area_m2)
    return SizeFrequency(
        n_reference=int(ref_areas.size),
        n_predicted=int(pred_areas.size),
        hanel_reference=lambda_hanel_2017(ref_areas),
        hanel_predicted=lambda_hanel_2017(pred_areas),
        asner_reference=lambda_asner_2013(ref_areas),
        asner_predicted=lambda_asner_2013(pred_areas),
    )
