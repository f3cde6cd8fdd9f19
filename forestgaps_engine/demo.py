"""The demo job behind ``make demo``: a synthetic forest in, gap maps and a quick-look out.

It runs the same public engine calls a user runs; nothing here is demo-only logic. With the
bundled default model (``resources/models/default/``) it predicts gaps from the DSM alone and
scores them against the CHM-threshold truth; the classic CHM detector (ForestGapR
semantics) always runs too, into ``classic/``, as the reference.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter

logger = logging.getLogger(__name__)

DEMO_THRESHOLDS_M = (2.0, 5.0, 10.0)
DEMO_SIZE_PX = 512
# A seed outside the ranges used to train and validate the default model.
DEMO_SEED = 4242
# ForestGapR's default gap size bounds, for the classic reference and the model alike.
DEMO_MIN_AREA_M2 = 1.0
DEMO_MAX_AREA_M2 = 10000.0


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its outputs and how the model compared with the CHM truth."""

    out_dir: Path
    inputs: dict[str, Path]
    outputs: list[Path]
    quicklook_png: Path
    method: str
    iou_by_threshold: dict[float, float] = field(default_factory=dict)


def _read_mask(path: Path, gap_values: tuple[int, ...] | None = None):  # noqa: ANN202
    import numpy as np
    import rasterio

    with rasterio.open(path) as dataset:
        values = dataset.read(1)
    return np.isin(values, gap_values) if gap_values else values > 0


def run_demo(
    out_dir: str | Path,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> DemoResult:
    """Generate a synthetic forest and detect its gaps at 2, 5 and 10 m.

    Args:
        out_dir: folder receiving ``site/`` inputs, gap rasters, GeoPackages and a PNG.
        progress: optional (fraction, message) callback.
        cancel: optional callback returning True to stop.
    """
    from forestgaps_engine.gaps.pipeline import gaps_from_chm
    from forestgaps_engine.metrics.pixel import confusion_counts
    from forestgaps_engine.models.card import CARD_FILE, DEFAULT_MODEL_DIR
    from forestgaps_engine.synth.forest import generate_forest, write_forest
    from forestgaps_engine.synth.quicklook import save_quicklook

    reporter = Reporter(progress, cancel)
    out_dir = Path(out_dir)
    reporter.report(0.0, "generating a synthetic forest")
    forest = generate_forest(DEMO_SIZE_PX, resolution_m=1.0, seed=DEMO_SEED)
    inputs = write_forest(forest, out_dir / "site")
    use_model = (DEFAULT_MODEL_DIR / CARD_FILE).is_file()
    reporter.report(0.1, "classic detector on the CHM (reference)")
    classic = gaps_from_chm(
        inputs["chm"],
        list(DEMO_THRESHOLDS_M),
        out_dir / "classic" if use_model else out_dir,
        min_area_m2=DEMO_MIN_AREA_M2,
        max_area_m2=DEMO_MAX_AREA_M2,
        progress=reporter.sub(0.1, 0.2).report,
        cancel=cancel,
    )
    truth = {t.threshold_m: _read_mask(t.raster_path) for t in classic.thresholds}
    outputs = classic.outputs()
    masks = truth
    scores: dict[float, float] = {}
    method = "classic CHM detector (ForestGapR semantics) on a synthetic forest"
    if use_model:
        from forestgaps_engine.config.inference import InferenceConfig
        from forestgaps_engine.inference.api import predict

        reporter.report(0.3, "predicting gaps from the DSM alone with the default model")
        # The model's patches are kept by the same area bounds as the classic reference.
        same_rule = InferenceConfig(
            min_gap_area_m2=DEMO_MIN_AREA_M2, max_gap_area_m2=DEMO_MAX_AREA_M2
        )
        prediction = predict(
            inputs["dsm"],
            list(DEMO_THRESHOLDS_M),
            "default",
            out_dir,
            same_rule,
            progress=reporter.sub(0.3, 0.6).report,
            cancel=cancel,
        )
        masks = {t.threshold_m: _read_mask(t.mask_path, (1,)) for t in prediction.thresholds}
        for threshold_m, predicted in masks.items():
            counts = confusion_counts(predicted, truth[threshold_m], forest.valid)
            scores[threshold_m] = counts.iou
            logger.info(
                "t%g: default model (DSM only) vs CHM-threshold truth: pixel IoU %.3f",
                threshold_m,
                counts.iou,
            )
        outputs = [
            p for t in prediction.thresholds for p in (t.probability_path, t.mask_path, t.gaps_path)
        ] + [prediction.summary_path] + outputs
        method = "default model on the DSM alone; classic CHM detector in classic/ as reference"
    reporter.report(0.9, "rendering the quick-look")
    quicklook = save_quicklook(
        out_dir / "quicklook.png",
        forest.dsm_m,
        {f"{threshold_m:g} m": mask for threshold_m, mask in masks.items()},
        forest.valid,
        forest.grid.resolution_m[0],
    )
    reporter.report(1.0, "done")
    return DemoResult(
        out_dir=out_dir,
        inputs=inputs,
        outputs=outputs,
        quicklook_png=Path(quicklook),
        method=method,
        iou_by_threshold=scores,
    )
