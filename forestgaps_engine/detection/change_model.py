"""Gap ids of two DSMs from the model, for a change comparison without DTMs.

Each harmonised DSM is written to a temporary GeoTIFF and predicted with the engine's
``predict`` (one model load for both dates); each threshold's gap mask is then numbered
into gaps with the classic detector's labelling and area bounds, so both routes compare
gaps the same way. Temporaries live in a hidden folder of the output folder and go away
whatever happens.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.files import threshold_label
from forestgaps_engine.gaps.change_inputs import HarmonisedDates
from forestgaps_engine.progress import Reporter

GAP_MASK_VALUE = 1  # predict's gap_mask_tT.tif: 1 gap, 0 not gap, 255 nodata


def mask_gap_ids(
    is_gap: np.ndarray, cell_area_m2: float, min_area_m2: float, max_area_m2: float
) -> np.ndarray:
    """Number the 8-connected patches of a gap mask within the area bounds.

    Args:
        is_gap: (H, W) bool gap cells.
        cell_area_m2: area of one cell.
        min_area_m2: smallest kept patch (inclusive).
        max_area_m2: largest kept patch (inclusive).

    Returns:
        (H, W) int32 ids 1..n in row-major order, 0 = no gap.
    """
    from forestgaps_engine.gaps.detector import label_gaps

    # Height 0 on gap cells and NaN elsewhere, cut at 0 m: the detector's own labelling.
    heights_m = np.where(is_gap, 0.0, np.nan)
    return label_gaps(heights_m, 0.0, cell_area_m2, min_area_m2, max_area_m2)


def predicted_gap_ids(
    harmonised: HarmonisedDates,
    thresholds_m: Sequence[float],
    model: Any,
    inference_config: Any,
    min_area_m2: float,
    max_area_m2: float,
    out: Path,
    reporter: Reporter,
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Predict both dates and return, per threshold, (before ids, after ids).

    Raises:
        ModelError: the model cannot be loaded.
        InferenceError: prediction failed.
        CancelledError: the caller cancelled.
    """
    from forestgaps_engine.geo.raster_io import HEIGHT_PROFILE, read_band, write_array
    from forestgaps_engine.inference.api import predict
    from forestgaps_engine.inference.model_source import as_inference_model

    loaded = as_inference_model("default" if model is None else model)
    cell_area_m2 = harmonised.grid.cell_area_m2
    masks: dict[str, list[np.ndarray]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix=".forestgaps-change-", dir=out) as temp:
        for index, (date, band) in enumerate(
            (("before", harmonised.before), ("after", harmonised.after))
        ):
            dsm_path = write_array(Path(temp) / f"{date}_dsm.tif", band.values,
                                   harmonised.grid, HEIGHT_PROFILE)  # fmt: skip
            predicted_dir = Path(temp) / date
            predict(dsm_path, list(thresholds_m), loaded, predicted_dir, inference_config,
                    progress=reporter.sub(index / 2, 0.5).report)  # fmt: skip
            for threshold_m in thresholds_m:
                mask = read_band(predicted_dir / f"gap_mask_{threshold_label(threshold_m)}.tif")
                masks[date].append(mask.valid & (mask.values == GAP_MASK_VALUE))
    return {
        threshold_m: (
            mask_gap_ids(masks["before"][i], cell_area_m2, min_area_m2, max_area_m2),
            mask_gap_ids(masks["after"][i], cell_area_m2, min_area_m2, max_area_m2),
        )
        for i, threshold_m in enumerate(thresholds_m)
    }
