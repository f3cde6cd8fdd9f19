"""``gap_pattern``: the one engine call behind ``forestgaps pattern`` and the plugin.

Gaps come from a GeoPackage of gap polygons or from a gap raster (gap ids, a gap mask or a
change raster: every valid cell > 0 is gap, 8-connected patches are gaps). Each gap's point
is the one ForestGapR's ``GapSPDF`` + ``sp::coordinates`` give: the centroid of the
exterior ring of its largest part. The window of study is a rectangle: the raster's
extent, a given raster's extent (ForestGapR passes the CHM), or the layer's extent.

Writes ``<stem>_pattern.png`` (K and L with envelopes) and ``<stem>_pattern.json``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from forestgaps_engine.errors import ConfigError, DataError, InvalidDataFormatError
from forestgaps_engine.files import ensure_writable_dir, write_json_atomic
from forestgaps_engine.gaps.detector import EIGHT_CONNECTED
from forestgaps_engine.gaps.pattern import (
    Window,
    clark_evans,
    ripley_envelope,
)
from forestgaps_engine.gaps.pattern_plot import write_pattern_plot
from forestgaps_engine.geo.raster_io import grid_of, open_single_band, read_band
from forestgaps_engine.geo.vectorize import label_polygons, require_ogr
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter

logger = logging.getLogger(__name__)

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img")


@dataclass(frozen=True)
class GapPoints:
    """Gap centres and the window they are studied in.

    Attributes:
        points_xy: (n, 2) centres in CRS units (metres).
        window: (left, bottom, right, top).
        window_source: where the window came from, in words.
        crs: CRS of the coordinates, or None.
    """

    points_xy: np.ndarray
    window: Window
    window_source: str
    crs: str | None


@dataclass(frozen=True)
class PatternResult:
    """What ``gap_pattern`` wrote: the JSON content and both paths."""

    summary: dict[str, Any]
    json_path: Path
    plot_path: Path


def ring_centroid(ring: np.ndarray) -> tuple[float, float, float]:
    """(x, y, |area|) of a closed or open ring by the shoelace formula."""
    x, y = ring[:, 0], ring[:, 1]
    x_next, y_next = np.roll(x, -1), np.roll(y, -1)
    cross = x * y_next - x_next * y
    area = cross.sum() / 2.0
    if area == 0:
        return float(x.mean()), float(y.mean()), 0.0
    cx = ((x + x_next) * cross).sum() / (6.0 * area)
    cy = ((y + y_next) * cross).sum() / (6.0 * area)
    return float(cx), float(cy), abs(float(area))


def label_point(polygons: list[list[np.ndarray]]) -> tuple[float, float]:
    """Return sp's label point of a multipolygon: centroid of its largest part's exterior ring."""
    centroids = [ring_centroid(np.asarray(polygon[0], dtype=np.float64)) for polygon in polygons]
    x, y, _ = max(centroids, key=lambda item: item[2])
    return x, y


def points_from_raster(path: Path) -> GapPoints:
    """Gap centres of a gap raster; the window is the raster's extent."""
    band = read_band(path)
    labels, _ = ndimage.label(band.valid & (band.values > 0), structure=EIGHT_CONNECTED)
    polygons = label_polygons(labels.astype(np.int32), band.grid)
    points = np.array([label_point(parts) for parts in polygons.values()]).reshape(-1, 2)
    return GapPoints(points, band.grid.bounds, f"extent of {path.name}", band.grid.crs)


def points_from_gpkg(path: Path, layer_name: str | None = None) -> GapPoints:
    """Gap centres of a polygon layer; the window is the layer's extent."""
    _, ogr, _ = require_ogr()  # a missing osgeo names the package that brings it
    dataset = ogr.Open(str(path))
    if dataset is None:
        raise InvalidDataFormatError(
            f"{path}: not a readable vector file",
            hint="Pass a GeoPackage of gap polygons (gaps_tT.gpkg) or a gap raster (.tif).",
        )
    layer = dataset.GetLayerByName(layer_name) if layer_name else dataset.GetLayer(0)
    if layer is None:
        raise InvalidDataFormatError(
            f"{path}: no layer {layer_name!r}",
            hint="Name one of its layers, or leave the layer out to use the first.",
        )
    points = []
    for feature in layer:
        geometry = feature.GetGeometryRef()
        if geometry is None or geometry.IsEmpty():
            continue
        parts = (
            [geometry.GetGeometryRef(i) for i in range(geometry.GetGeometryCount())]
            if geometry.GetGeometryType() in (ogr.wkbMultiPolygon, ogr.wkbMultiPolygon25D)
            else [geometry]
        )
        rings = [[np.array(part.GetGeometryRef(0).GetPoints())[:, :2]] for part in parts
                 if part.GetGeometryCount() > 0]  # fmt: skip
        if rings:
            points.append(label_point(rings))
    left, right, bottom, top = layer.GetExtent()
    reference = layer.GetSpatialRef()
    crs = reference.ExportToWkt() if reference is not None else None
    return GapPoints(np.array(points).reshape(-1, 2), (left, bottom, right, top),
                     f"extent of the layer in {path.name}", crs)  # fmt: skip


def gap_points(source: str | Path, window_raster: str | Path | None = None) -> GapPoints:
    """Read gap centres from ``source`` and the window from ``window_raster`` when given.

    Raises:
        InvalidDataFormatError: unreadable input.
        DataError: a point outside the given window.
    """
    source = Path(source)
    if not source.exists():
        raise InvalidDataFormatError(f"{source}: file not found", hint="Check the path.")
    is_raster = source.suffix.lower() in RASTER_SUFFIXES
    points = points_from_raster(source) if is_raster else points_from_gpkg(source)
    if window_raster is None:
        return points
    with open_single_band(Path(window_raster)) as dataset:
        window = grid_of(dataset).bounds
    xy = points.points_xy
    tolerance = 1e-6
    is_inside = (
        (xy[:, 0] >= window[0] - tolerance) & (xy[:, 0] <= window[2] + tolerance)
        & (xy[:, 1] >= window[1] - tolerance) & (xy[:, 1] <= window[3] + tolerance)
    )  # fmt: skip
    if not is_inside.all():
        raise DataError(
            f"{source}: {int((~is_inside).sum())} of {len(xy)} gap centres lie outside the "
            f"extent of {window_raster}",
            hint="Give the CHM the gaps were detected on as the window.",
        )
    return GapPoints(xy, window, f"extent of {Path(window_raster).name}", points.crs)


def gap_pattern(
    source: str | Path,
    out_dir: str | Path | None = None,
    window_raster: str | Path | None = None,
    n_simulations: int = 99,
    seed: int = 42,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> PatternResult:
    """Clark-Evans, Ripley's K and L with CSR envelopes of the gaps in ``source``.

    Args:
        source: a GeoPackage of gap polygons, or a gap raster.
        out_dir: output folder; None writes beside ``source``.
        window_raster: a raster whose extent is the window (ForestGapR: the CHM).
        n_simulations: CSR simulations of the envelopes (ForestGapR: 99).
        seed: random seed of the simulations.
        progress: called with (fraction 0..1, message).
        cancel: returns True to stop.

    Returns:
        PatternResult with the JSON content and the paths written.

    Raises:
        InvalidDataFormatError: unreadable input.
        DataError: fewer than 2 gaps, or gaps outside the window.
        ConfigError: n_simulations < 1.
        CancelledError: the caller cancelled.
    """
    if isinstance(n_simulations, bool) or not isinstance(n_simulations, int) or n_simulations < 1:
        raise ConfigError(
            f"number of simulations {n_simulations!r} must be a whole number >= 1",
            hint="ForestGapR uses 99 (--simulations 99).",
        )
    reporter = Reporter(progress, cancel)
    source = Path(source)
    reporter.report(0.0, f"reading gaps from {source.name}")
    points = gap_points(source, window_raster)
    n_points = len(points.points_xy)
    if n_points < 2:
        raise DataError(
            f"{source}: {n_points} gap(s) found; the spatial pattern needs at least 2",
            hint="Use a lower --min-area or a larger area.",
        )
    reporter.report(0.1, f"Clark-Evans index of {n_points} gaps")
    index = clark_evans(points.points_xy, points.window)
    reporter.report(0.2, f"Ripley's K and L, {n_simulations} simulations")
    curves = ripley_envelope(points.points_xy, points.window, n_simulations, seed)
    out = ensure_writable_dir(out_dir if out_dir is not None else source.parent)
    plot_path = out / f"{source.stem}_pattern.png"
    json_path = out / f"{source.stem}_pattern.json"
    summary = _summary(source, points, index, curves, plot_path)
    reporter.report(0.9, f"writing {plot_path.name}")
    write_pattern_plot(plot_path, curves, title=f"{source.name}: {n_points} gaps")
    try:
        write_json_atomic(json_path, summary)
    except BaseException:
        plot_path.unlink(missing_ok=True)
        raise
    logger.info("%s: Clark-Evans R = %.3f (p = %.3g, %s), %d gaps", source.name,
                index.r_index, index.p_value, index.pattern, n_points)  # fmt: skip
    reporter.report(1.0, f"R = {index.r_index:.3f}")
    return PatternResult(summary, json_path, plot_path)


def _summary(
    source: Path, points: GapPoints, index: Any, curves: Any, plot_path: Path
) -> dict[str, Any]:
    observed_l = curves.l_of(curves.k_observed)
    return {
        "source": str(source),
        "n_gaps": index.n_points,
        "points": "centroid of the exterior ring of each gap's largest part (ForestGapR GapSPDF)",
        "window": {"bounds": list(points.window), "source": points.window_source,
                   "area_m2": (points.window[2] - points.window[0])
                   * (points.window[3] - points.window[1])},  # fmt: skip
        "clark_evans": {
            "R": index.r_index,
            "correction": "none",
            "test": "Z-test against CSR, two-sided (spatstat clarkevans.test defaults)",
            "z": index.z_score,
            "p_value": index.p_value,
            "pattern": index.pattern,
            "mean_nn_distance_m": index.mean_nn_distance_m,
            "expected_nn_distance_m": index.expected_nn_distance_m,
            "R_donnelly": index.r_donnelly,
            "R_donnelly_correction": "Donnelly (1978), rectangular window",
        },
        "ripley": {
            "edge_correction": "isotropic (Ripley)",
            "envelope": "pointwise min/max of CSR (Poisson) simulations",
            "n_simulations": curves.n_simulations,
            "seed": curves.seed,
            "r_m": curves.r_m.tolist(),
            "k_observed": curves.k_observed.tolist(),
            "k_theoretical": curves.k_theoretical.tolist(),
            "k_low": curves.k_low.tolist(),
            "k_high": curves.k_high.tolist(),
            "l_observed": observed_l.tolist(),
            "l_low": curves.l_of(curves.k_low).tolist(),
            "l_high": curves.l_of(curves.k_high).tolist(),
            "share_of_radii_above_envelope": float(np.mean(curves.k_observed > curves.k_high)),
            "share_of_radii_below_envelope": float(np.mean(curves.k_observed < curves.k_low)),
        },
        "plot": plot_path.name,
    }
