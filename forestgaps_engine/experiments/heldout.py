"""Score a model (and both baselines) on held-out synthetic sites, pooled over the sites.

Shared by the architecture benchmark and the default-model report: the sites are generated
from seeds that training never saw, each is scored with ``evaluate`` (ForestGapR labels on
the true CHM), and the figures are pooled: pixel scores from the summed confusion counts,
object F1, boundary F1 and grid R² as the mean over sites.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from forestgaps_engine.config.gaps import GapsConfig
from forestgaps_engine.evaluation.api import CHM_CEILING, DSM_ONLY, evaluate
from forestgaps_engine.evaluation.real_sites import METHOD_MODEL
from forestgaps_engine.evaluation.scoring import MethodScores
from forestgaps_engine.files import ensure_writable_dir
from forestgaps_engine.inference.api import predict
from forestgaps_engine.metrics.pixel import ConfusionCounts
from forestgaps_engine.synth.forest import write_synthetic_site

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeldOutSite:
    """One generated evaluation site: its rasters and the seed that made it."""

    name: str
    seed: int
    dsm: Path
    chm: Path


def heldout_sites(
    out_dir: str | Path,
    seeds: Sequence[int],
    size_px: int,
    resolution_m: float,
    crs: str = "EPSG:2154",
    open_stand_share: float = 0.0,
) -> list[HeldOutSite]:
    """Generate (or reuse) one synthetic site per seed under ``out_dir/seed_<seed>``.

    Args:
        out_dir: parent folder.
        seeds: forest seeds; keep them apart from the seeds training used.
        size_px: side of each site, pixels.
        resolution_m: cell size, metres.
        crs: metric CRS of the rasters.
        open_stand_share: share of open-woodland stands (``synth.open_stand_share``).
    """
    sites = []
    for seed in seeds:
        name = f"seed_{seed:04d}_{resolution_m:g}m"
        if open_stand_share > 0.0:
            name += f"_open{open_stand_share:g}"
        folder = Path(out_dir) / name
        dsm, chm = folder / "dsm.tif", folder / "chm.tif"
        if not (dsm.is_file() and chm.is_file()):
            paths = write_synthetic_site(
                folder, size_px, resolution_m, crs, int(seed), open_stand_share=open_stand_share
            )
            dsm, chm = Path(paths["dsm"]), Path(paths["chm"])
        sites.append(HeldOutSite(folder.name, int(seed), dsm, chm))
    return sites


def _pooled(scores: list[MethodScores]) -> dict[str, float | None]:
    counts = sum((item.pixel for item in scores), ConfusionCounts())

    def mean(values: list[float | None]) -> float | None:
        kept = [float(v) for v in values if v is not None]
        return sum(kept) / len(kept) if kept else None

    return {
        "iou": counts.iou,
        "f1": counts.f1,
        "precision": counts.precision,
        "recall": counts.recall,
        "object_f1": mean([item.objects.overall.f1 for item in scores]),
        "boundary_f1": mean([item.boundary.f1 for item in scores]),
        "grid_r2": mean([item.grid.r2 for item in scores]),
    }


class ScoredSite(Protocol):
    """What ``score_on_sites`` reads of a site (``HeldOutSite``, ``RealSample``)."""

    name: str
    dsm: Path
    chm: Path


def score_on_sites(
    sites: Sequence[ScoredSite],
    model: Any,
    thresholds_m: Sequence[float],
    out_dir: str | Path,
    gaps: GapsConfig | None = None,
    inference: Any = None,
) -> dict[str, dict[str, dict[str, float | None]]]:
    """Evaluate ``model`` (None: baselines alone) on every site and pool the scores.

    Args:
        sites: from ``heldout_sites`` or ``real_samples.build_real_samples``.
        model: model folder, ``"default"``, a ``LoadedModel`` or None.
        thresholds_m: thresholds scored.
        out_dir: one ``evaluate`` report per site goes to ``out_dir/<site>``.
        gaps: area bounds of the gap rule.
        inference: ``InferenceConfig`` for the model's prediction.

    Returns:
        method (``model``, ``dsm_only``, ``chm_threshold``) -> threshold label (``"5"``)
        -> metric name -> pooled value (None when undefined).
    """
    out = ensure_writable_dir(out_dir)
    by_method: dict[str, dict[float, list[MethodScores]]] = {}
    names = {METHOD_MODEL: METHOD_MODEL, DSM_ONLY: "dsm_only", CHM_CEILING: "chm_threshold"}
    for site in sites:
        result = evaluate(
            {"dsm": site.dsm, "chm": site.chm},
            model,
            list(thresholds_m),
            out / site.name,
            gaps=gaps,
            inference=inference,
            method_name=METHOD_MODEL,
            site=site.name,
        )
        for item in result.scores:
            by_method.setdefault(names.get(item.method, item.method), {}).setdefault(
                item.threshold_m, []
            ).append(item)
    return {
        method: {f"{t:g}": _pooled(items) for t, items in sorted(per_threshold.items())}
        for method, per_threshold in by_method.items()
    }


def inference_speed(
    site: HeldOutSite, model: Any, threshold_m: float, out_dir: str | Path, inference: Any = None
) -> dict[str, float]:
    """Time one ``predict`` call (model loading included) on a held-out DSM at one threshold.

    Returns:
        ``seconds``, ``megapixels`` and ``mpix_per_s``.
    """
    import rasterio

    with rasterio.open(site.dsm) as source:
        megapixels = source.width * source.height / 1e6
    started_s = time.perf_counter()
    predict(site.dsm, [threshold_m], model, out_dir, inference)
    seconds = time.perf_counter() - started_s
    return {
        "seconds": round(seconds, 3),
        "megapixels": round(megapixels, 4),
        "mpix_per_s": round(megapixels / seconds, 4) if seconds > 0 else 0.0,
    }
