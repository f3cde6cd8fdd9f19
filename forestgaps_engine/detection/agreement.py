"""How far a model's masks agree with the classic rule ``CHM <= threshold`` (ForestGapR)."""

from __future__ import annotations

from collections.abc import Sequence

from forestgaps_engine.detection.result import ThresholdOutputs


def agreement_notes(outputs: Sequence[ThresholdOutputs], chm_path: str) -> list[str]:
    """Pixel agreement of each predicted mask with ``CHM <= threshold``.

    Args:
        outputs: the model's per-threshold outputs (masks on the DSM grid).
        chm_path: canopy height raster, metres, overlapping the masks.

    Returns:
        One sentence per threshold with F1 and IoU over cells valid in both.
    """
    from forestgaps_engine.geo.warp import harmonize
    from forestgaps_engine.metrics.pixel import confusion_counts

    notes = []
    for item in outputs:
        if item.mask_path is None:
            continue
        bands = harmonize({"mask": item.mask_path, "chm": chm_path}, mask_keys=("mask",))
        mask, chm = bands["mask"], bands["chm"]
        valid = mask.valid & chm.valid & (mask.values != 255)
        counts = confusion_counts(mask.values == 1, chm.values <= item.threshold_m, valid)
        notes.append(
            f"t{item.threshold_m:g}: pixel F1 {counts.f1:.2f}, IoU {counts.iou:.2f} against "
            f"CHM <= {item.threshold_m:g} m ({counts.total} cells)"
        )
    return notes
