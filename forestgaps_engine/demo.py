"""The demo job behind ``make demo``: a synthetic forest in, gap maps and a quick-look out.

It runs the same public engine calls a user runs; nothing here is demo-only logic.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter

logger = logging.getLogger(__name__)

DEMO_THRESHOLDS_M = (2.0, 5.0, 10.0)
DEMO_SIZE_PX = 512
DEMO_SEED = 0


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its outputs."""

    out_dir: Path
    inputs: dict[str, Path]
    outputs: list[Path]
    quicklook_png: Path
    method: str


def run_demo(
    out_dir: str | Path,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> DemoResult:
    """Generate a synthetic forest and detect its gaps at 2, 5 and 10 m.

    Uses the classic CHM detector (ForestGapR semantics) on the synthetic CHM.

    Args:
        out_dir: folder receiving ``site/`` inputs, gap rasters, GeoPackages and a PNG.
        progress: optional (fraction, message) callback.
        cancel: optional callback returning True to stop.
    """
    import rasterio

    from forestgaps_engine.gaps.pipeline import gaps_from_chm
    from forestgaps_engine.synth.forest import generate_forest, write_forest
    from forestgaps_engine.synth.quicklook import save_quicklook

    reporter = Reporter(progress, cancel)
    out_dir = Path(out_dir)
    reporter.report(0.0, "generating a synthetic forest")
    forest = generate_forest(DEMO_SIZE_PX, resolution_m=1.0, seed=DEMO_SEED)
    inputs = write_forest(forest, out_dir / "site")
    reporter.report(0.2, "detecting gaps in the CHM")
    result = gaps_from_chm(
        inputs["chm"],
        list(DEMO_THRESHOLDS_M),
        out_dir,
        progress=reporter.sub(0.2, 0.7).report,
        cancel=cancel,
    )
    reporter.report(0.9, "rendering the quick-look")
    masks = {}
    for threshold in result.thresholds:
        with rasterio.open(threshold.raster_path) as dataset:
            masks[f"{threshold.threshold_m:g} m"] = dataset.read(1) > 0
    quicklook = save_quicklook(
        out_dir / "quicklook.png", forest.dsm_m, masks, forest.valid, forest.grid.resolution_m[0]
    )
    reporter.report(1.0, "done")
    return DemoResult(
        out_dir=out_dir,
        inputs=inputs,
        outputs=result.outputs(),
        quicklook_png=Path(quicklook),
        method="classic CHM detector (ForestGapR semantics) on a synthetic forest",
    )
