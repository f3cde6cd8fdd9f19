"""The model against the DSM-only baseline on every real site of the corpus, site by site.

``evaluate_real_sites`` builds each site of a config (``configs/real_sites.yaml``: real
clouds and CHMs, ``data/real_sites/``), writes its DSM and reference CHM, and scores the
model and the grey-opening baseline (``evaluation/baselines.py``) with ``evaluate``
(ForestGapR labels on the CHM, the config's gap rule for every method). Each site is scored
on its own, as a held-out site: leave-one-site-out belongs to training. The figures are
pixel IoU per site and threshold, and pooled over the sites (summed confusion counts).

The terrain-prior column is for a model that takes a coarse terrain beside the DSM (card
``uses_terrain_prior``, params ``terrain_prior``); it reads ``n/a`` for a model without
that input, the bundled one included.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.data.real_sites.builder import build_real_site, is_real_site
from forestgaps_engine.data.shards import safe_key
from forestgaps_engine.data.sites import SiteRasters, load_raster_site
from forestgaps_engine.errors import ConfigError
from forestgaps_engine.evaluation.api import DSM_ONLY, evaluate
from forestgaps_engine.evaluation.marked_section import write_marked_section
from forestgaps_engine.files import ensure_writable_dir, write_json_atomic, write_text_atomic
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.raster_io import HEIGHT_PROFILE, write_array
from forestgaps_engine.metrics.pixel import ConfusionCounts
from forestgaps_engine.models.card import load_model
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter

logger = logging.getLogger(__name__)

SECTION = "real-sites"
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "real_sites.yaml"
THRESHOLDS_M = (2.0, 5.0, 10.0, 15.0)
METHOD_MODEL = "model"
METHOD_PRIOR = "terrain_prior"
METHOD_BASELINE = "dsm_only"
# The coarse terrain a forester may have: a national or global DEM of about 30 m.
PRIOR_CELL_M = 30.0
NOT_AVAILABLE = "n/a"


@dataclass(frozen=True)
class RealSitesReport:
    """What ``evaluate_real_sites`` scored and wrote.

    Attributes:
        out_dir: the output folder.
        rows: one dict per site (name, ground, cell size, source, IoU per threshold).
        pooled: method -> threshold label -> IoU over all sites.
        markdown: the table written to ``real_sites.md``.
        json_path: ``real_sites.json``.
    """

    out_dir: Path
    rows: tuple[dict[str, Any], ...]
    pooled: dict[str, dict[str, float | None]]
    markdown: str
    json_path: Path


def has_terrain_input(card: Any) -> bool:
    """Whether a model card declares a terrain (ground prior) input (older cards: in params)."""
    return bool(card.uses_terrain_prior or card.params.get("terrain_prior"))


def _ground_kind(rasters: SiteRasters) -> str:
    """How the site's ground is known: ``lidar``, ``lidar (CSF)`` or ``flat``."""
    record = rasters.record
    if record.get("kind") == "chm_flat_ground":
        return "flat"
    source = record.get("cloud", {}).get("ground", {}).get("source", "")
    if source == "csf":
        return "lidar (CSF)"
    if source.startswith("height-normalised"):
        return "flat"
    return "lidar"


def _write_inputs(rasters: SiteRasters, folder: Path) -> dict[str, Path]:
    return {
        name: write_array(folder / f"{name}.tif", band.values, band.grid, HEIGHT_PROFILE)
        for name, band in (("dsm", rasters.dsm), ("chm", rasters.chm))
    }


def _write_prior_dem(rasters: SiteRasters, path: Path) -> Path:
    """The site's ground (DSM - CHM) averaged onto ``PRIOR_CELL_M`` cells, as a DEM file.

    A coarse cell holds the mean of whatever ground cells it covers, so the DEM covers
    the site to its edges.
    """
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    valid = rasters.dsm.valid & rasters.chm.valid
    ground_m = np.where(valid, rasters.dsm.values - rasters.chm.values, np.nan)
    coarse = Grid.snapped(rasters.grid.crs, rasters.grid.bounds, PRIOR_CELL_M)
    dem_m = np.full(coarse.shape, np.nan, dtype=np.float32)
    reproject(
        source=ground_m.astype(np.float32), destination=dem_m,
        src_transform=rasters.grid.transform, src_crs=rasters.grid.crs, src_nodata=np.nan,
        dst_transform=coarse.transform, dst_crs=coarse.crs, dst_nodata=np.nan,
        resampling=Resampling.average,
    )  # fmt: skip
    return write_array(path, dem_m, coarse, HEIGHT_PROFILE)


def evaluate_real_sites(
    model: Any,
    config: ForestGapsConfig,
    out_dir: str | Path,
    thresholds_m: Sequence[float] = THRESHOLDS_M,
    doc: str | Path | None = None,
    site_names: Sequence[str] = (),
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    prior_model: Any = None,
) -> RealSitesReport:
    """Score ``model`` and the DSM-only baseline on each site of ``config.data.sites``.

    Args:
        model: model folder, ``"default"`` or a ``LoadedModel``.
        config: the sites (``data.sites``), the gap rule (``gaps``) and ``inference``.
        out_dir: ``real_sites.json``, ``real_sites.md``, ``sites/`` (rasterized clouds),
            ``inputs/<site>/{dsm,chm}.tif`` and ``reports/<site>/`` go here.
        thresholds_m: thresholds scored.
        doc: also write the table into this markdown's ``real-sites`` section.
        site_names: score only these sites (default: all).
        progress: ``progress(fraction, message)``.
        cancel: returns True to stop.
        prior_model: a model trained with a terrain prior, scored in the terrain-prior
            column with the site's own ground averaged onto 30 m cells as its DEM
            (``PRIOR_CELL_M``; sites without a CRS get n/a).

    Returns:
        Per-site and pooled IoU, and the files written.

    Raises:
        ConfigError: no site in the config, or a name in ``site_names`` it lacks.
        DataError, CRSMismatchError, InvalidDataFormatError: a site cannot be built.
        ModelError: the model cannot be loaded.
    """
    sites = list(config.data.sites)
    if not sites:
        raise ConfigError(
            "data.sites is empty: no real site to evaluate",
            hint="Pass --config configs/real_sites.yaml (or a config listing data.sites).",
        )
    if site_names:
        known = {site.name for site in sites}
        missing = [name for name in site_names if name not in known]
        if missing:
            raise ConfigError(
                f"--site {', '.join(missing)}: not in data.sites ({', '.join(sorted(known))})",
                hint="Pass --site with one of the config's site names.",
            )
        sites = [site for site in sites if site.name in site_names]
    reporter = Reporter(progress, cancel)
    loaded = load_model(model)
    prior_loaded = load_model(prior_model) if prior_model is not None else None
    if prior_loaded is not None and not has_terrain_input(prior_loaded.card):
        raise ConfigError(
            f"--prior-model {prior_model}: the model was trained without a terrain prior",
            hint="Pass a model whose card reads uses_terrain_prior: true, or drop --prior-model.",
        )
    terrain_input = has_terrain_input(loaded.card) or prior_loaded is not None
    out = ensure_writable_dir(out_dir)
    labels = [f"{t:g}" for t in thresholds_m]
    rows: list[dict[str, Any]] = []
    for index, site in enumerate(sites):
        step = reporter.sub(index / len(sites), 1 / len(sites))
        started_s = time.perf_counter()
        build = build_real_site if is_real_site(site) else load_raster_site
        rasters = build(site, None, out / "sites", step.sub(0.0, 0.3))
        key = safe_key(site.name)
        inputs = _write_inputs(rasters, out / "inputs" / key)
        result = evaluate(
            inputs,
            loaded,
            list(thresholds_m),
            out / "reports" / key,
            gaps=config.gaps,
            inference=config.inference,
            method_name=METHOD_MODEL,
            site=site.name,
            progress=step.sub(0.3, 0.4).report,
        )
        # (evaluation, its method name, the column it fills)
        scored = [(result, METHOD_MODEL, METHOD_MODEL), (result, DSM_ONLY, METHOD_BASELINE)]
        if prior_loaded is not None and rasters.grid.crs is not None:
            dem = _write_prior_dem(rasters, out / "inputs" / key / "dem_30m.tif")
            prior_result = evaluate(
                inputs, prior_loaded, list(thresholds_m), out / "reports_prior" / key,
                gaps=config.gaps, inference=config.inference, method_name=METHOD_PRIOR,
                site=site.name, progress=step.sub(0.7, 0.3).report, terrain_prior=dem,
            )  # fmt: skip
            scored.append((prior_result, METHOD_PRIOR, METHOD_PRIOR))
        iou: dict[str, dict[str, float | None]] = {}
        site_counts: dict[str, dict[str, list[int]]] = {}
        for threshold_m, label in zip(thresholds_m, labels, strict=True):
            row: dict[str, float | None] = {"terrain_prior": None}
            site_counts[label] = {}
            for scores, method, column in scored:
                counts = scores.score(method, threshold_m).pixel
                row[column] = counts.iou
                site_counts[label][column] = [counts.tp, counts.fp, counts.fn, counts.tn]
            iou[label] = row
        provenance = rasters.record.get("provenance") or {}
        grid = rasters.grid
        rows.append(
            {
                "site": site.name,
                "ground": _ground_kind(rasters),
                "cell_m": grid.resolution_m[0],
                "size_px": [grid.width_px, grid.height_px],
                "valid_fraction": round(float(rasters.chm.valid.mean()), 4),
                "source": provenance.get("folder"),
                "license": provenance.get("license") or provenance.get("source_note"),
                "iou": iou,
                # Confusion counts (tp, fp, fn, tn), so tables of several runs pool exactly.
                "counts": site_counts,
                "duration_s": round(time.perf_counter() - started_s, 2),
            }
        )
        logger.info(
            "%s: model %s / DSM-only %s (IoU at %s m)",
            site.name,
            " ".join(fmt_score(iou[label][METHOD_MODEL]) for label in labels),
            " ".join(fmt_score(iou[label][METHOD_BASELINE]) for label in labels),
            ", ".join(labels),
        )
    card = loaded.card
    facts = {
        "model_id": card.model_id,
        "architecture": card.architecture,
        "model_has_terrain_input": terrain_input,
    }
    model_text = f"Model `{card.model_id}` (`{card.architecture}`)"
    report = write_report(out, facts, rows, thresholds_m, config, doc, model_text, terrain_input)
    reporter.report(1.0, f"{len(rows)} real sites scored")
    return report


def write_report(
    out: Path,
    facts: dict[str, Any],
    rows: Sequence[dict[str, Any]],
    thresholds_m: Sequence[float],
    config: ForestGapsConfig,
    doc: str | Path | None,
    model_text: str,
    terrain_input: bool,
) -> RealSitesReport:
    """Write ``real_sites.json`` (``facts`` first), ``real_sites.md`` and ``doc``'s section."""
    labels = [f"{t:g}" for t in thresholds_m]
    pooled = pooled_from_rows(rows, labels)
    markdown = site_table(rows, pooled, labels, model_text, terrain_input, config)
    json_path = write_json_atomic(
        out / "real_sites.json",
        {
            **facts,
            "thresholds_m": list(thresholds_m),
            "gap_rule_m2": [config.gaps.min_area_m2, config.gaps.max_area_m2],
            "sites": list(rows),
            "pooled": pooled,
        },
    )
    write_text_atomic(out / "real_sites.md", markdown)
    if doc is not None:
        write_marked_section(doc, SECTION, markdown, title="Benchmark")
    return RealSitesReport(out, tuple(rows), pooled, markdown, Path(json_path))


def fmt_score(value: float | None) -> str:
    """A score to 3 decimals, ``-`` where it is undefined (None or not finite)."""
    return "-" if value is None or not math.isfinite(value) else f"{value:.3f}"


def _cells(row: dict[str, float | None], terrain_input: bool) -> list[str]:
    model, baseline = row.get(METHOD_MODEL), row.get(METHOD_BASELINE)
    better = model is not None and baseline is not None
    shown = [
        f"**{fmt_score(model)}**" if better and model > baseline else fmt_score(model),
        f"**{fmt_score(baseline)}**" if better and baseline > model else fmt_score(baseline),
    ]
    prior = row.get("terrain_prior")
    shown.append(fmt_score(prior) if terrain_input and prior is not None else NOT_AVAILABLE)
    return shown


def pooled_from_rows(rows: Sequence[dict[str, Any]], labels: Sequence[str]) -> dict[str, Any]:
    """Pooled IoU per method and threshold label, from the rows' confusion counts."""
    pooled: dict[str, dict[str, float | None]] = {}
    has_prior = any(METHOD_PRIOR in row["counts"][label] for row in rows for label in labels)
    for method in (METHOD_MODEL, METHOD_BASELINE, METHOD_PRIOR)[: 3 if has_prior else 2]:
        pooled[method] = {}
        for label in labels:
            total = ConfusionCounts()
            for row in rows:
                if method in row["counts"][label]:
                    total = total + ConfusionCounts(*row["counts"][label][method])
            pooled[method][label] = total.iou if total.total else None
    return pooled


def site_table(
    rows: Sequence[dict[str, Any]],
    pooled: dict[str, dict[str, float | None]],
    labels: Sequence[str],
    model_text: str,
    terrain_input: bool,
    config: ForestGapsConfig,
) -> str:
    """The markdown table of ``rows``: one line per site, then the pooled line.

    Args:
        rows: per-site rows as in ``real_sites.json``.
        pooled: pooled IoU per method and label.
        labels: threshold labels (``"5"``).
        model_text: who the model is, e.g. "Model `id` (`arch`)".
        terrain_input: the model takes a terrain band.
        config: the gap rule.
    """
    header = ["site", "ground", "cell (m)"]
    for label in labels:
        header += [f"model @ {label} m", f"DSM-only @ {label} m", f"terrain prior @ {label} m"]
    lines = [
        "### The model against the DSM-only baseline, site by site",
        "",
        f"{model_text} against the DSM-only baseline on "
        f"{len(rows)} real sites, each scored on its own; pixel IoU against ForestGapR "
        f"labels on the site's CHM, gaps kept at {config.gaps.min_area_m2:g} <= area <= "
        f"{config.gaps.max_area_m2:g} m² for every method. Terrain prior: "
        + (
            f"a model trained with a terrain prior, given the site's own ground averaged "
            f"onto {PRIOR_CELL_M:g} m cells (n/a: a site without a CRS)."
            if terrain_input
            else "n/a, no model with a terrain input was given."
        ),
        "",
        "| " + " | ".join(header) + " |",
        "|---|---|---:|" + "---:|" * (3 * len(labels)),
    ]
    for row in rows:
        cells = [row["site"], row["ground"], f"{row['cell_m']:g}"]
        for label in labels:
            cells += _cells(row["iou"][label], terrain_input)
        lines.append("| " + " | ".join(cells) + " |")
    pooled_cells = ["**all sites, pooled**", "", ""]
    for label in labels:
        pooled_cells += _cells(
            {method: ious[label] for method, ious in pooled.items()}, terrain_input
        )
    lines.append("| " + " | ".join(pooled_cells) + " |")
    return "\n".join(lines) + "\n"
