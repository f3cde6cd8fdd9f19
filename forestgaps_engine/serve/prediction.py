"""``POST /predict`` behind the HTTP layer: form fields -> checked upload -> ``predict`` -> JSON.

Everything here is blocking (rasterio, torch) and runs in a worker thread; the model is
shared by every request, so the prediction itself runs under one of the service's slots.
The answer holds figures and download links, never polygons: those stay in files.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.config.serve import ServeConfig
from forestgaps_engine.errors import CRSMismatchError, InvalidDataFormatError
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.serve.errors import ServiceError
from forestgaps_engine.serve.limits import (
    RequestPlan,
    check_gap_count,
    check_grid_size,
    check_readable,
    plan_request,
)
from forestgaps_engine.serve.uploads import UploadedFile, refuse_unknown_fields

INFERENCE_FIELDS = (
    "tile_size_px", "overlap_px", "min_gap_area_m2", "max_gap_area_m2", "probability_cutoff",
)  # fmt: skip
PREDICT_FIELDS = ("thresholds", "geojson_crs", *INFERENCE_FIELDS)
THRESHOLDS_HINT = "Send thresholds as heights in metres separated by commas, e.g. thresholds=5,10."


@dataclass(frozen=True)
class PredictRequest:
    """What one ``/predict`` call asks for.

    Attributes:
        thresholds_m: sorted unique gap height thresholds, metres.
        inference: the service's inference config with the request's overrides.
        geojson_crs: ``wgs84`` or ``input``.
    """

    thresholds_m: list[float]
    inference: InferenceConfig
    geojson_crs: Literal["wgs84", "input"]


def parse_thresholds(text: str, max_count: int) -> list[float]:
    """``"5,10"`` (commas, semicolons or spaces) -> [5.0, 10.0], each finite and > 0.

    Raises:
        ServiceError: 422 on a missing, unparseable, non-positive or excess threshold.
    """
    items = [item for item in re.split(r"[,;\s]+", text.strip()) if item]
    if not items:
        raise ServiceError(422, "field 'thresholds' is empty", THRESHOLDS_HINT)
    values = []
    for item in items:
        try:
            value = float(item)
        except ValueError:
            raise ServiceError(
                422, f"threshold {item!r} is not a number", THRESHOLDS_HINT
            ) from None
        if not math.isfinite(value) or value <= 0:
            raise ServiceError(
                422, f"threshold {item!r} m is not a positive height", THRESHOLDS_HINT
            )
        values.append(value)
    values = sorted(set(values))
    if len(values) > max_count:
        raise ServiceError(
            422,
            f"{len(values)} thresholds requested, at most {max_count} per request",
            "Split the thresholds over several requests, or raise serve.max_thresholds.",
        )
    return values


def parse_predict_fields(
    fields: dict[str, str], inference: InferenceConfig, serve: ServeConfig
) -> PredictRequest:
    """Validate the text fields of a ``/predict`` form.

    Raises:
        ServiceError: 422 naming the field, its value and what is allowed.
    """
    refuse_unknown_fields(fields, PREDICT_FIELDS)
    if "thresholds" not in fields:
        raise ServiceError(422, "field 'thresholds' is missing", THRESHOLDS_HINT)
    thresholds_m = parse_thresholds(fields["thresholds"], serve.max_thresholds)
    geojson_crs = fields.get("geojson_crs", serve.geojson_crs).strip().lower()
    if geojson_crs not in ("wgs84", "input"):
        raise ServiceError(
            422, f"geojson_crs {geojson_crs!r} is not wgs84 or input", "Use wgs84 or input."
        )
    overrides = {name: fields[name].strip() for name in INFERENCE_FIELDS if name in fields}
    try:
        merged = InferenceConfig.model_validate({**inference.model_dump(), **overrides})
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'options'}: {item['msg']}"
            for item in error.errors()
        )
        raise ServiceError(
            422,
            f"invalid prediction options {overrides}: {problems}",
            "tile_size_px >= 32, overlap_px < tile_size_px / 2, probability_cutoff in (0, 1), "
            "min_gap_area_m2 >= 0, max_gap_area_m2 >= min_gap_area_m2.",
        ) from None
    return PredictRequest(thresholds_m, merged, geojson_crs)  # type: ignore[arg-type]


def check_upload(
    upload: UploadedFile, loaded: Any, request: PredictRequest, serve: ServeConfig
) -> RequestPlan:
    """The grids a prediction of ``upload`` will use, after every check that needs no work.

    In order: a single-band GeoTIFF with a CRS; the grid the model runs on and the input
    grid within ``serve.max_input_mpix``; the gaps a threshold could hold within
    ``serve.max_gaps_per_threshold``; then every cell decoded once (a truncated file).

    Raises:
        InvalidDataFormatError: not a raster, not a GeoTIFF, several bands, unreadable.
        CRSMismatchError: no CRS.
        ServiceError: 413 over a limit.
    """
    from forestgaps_engine.geo.raster_io import grid_of, open_single_band

    check_geotiff(upload)
    with open_single_band(upload.path) as dataset:
        grid = grid_of(dataset)
        plan = plan_request(grid, loaded.card, request.inference, upload.name)
        check_grid_size(plan, upload.name, serve.max_input_mpix)
        check_gap_count(
            plan, upload.name, request.inference.min_gap_area_m2, serve.max_gaps_per_threshold
        )
        check_readable(dataset, upload.name)
    return plan


def check_geotiff(upload: UploadedFile) -> Grid:
    """The grid of an uploaded raster, after checking it is a single-band GeoTIFF with a CRS.

    Raises:
        InvalidDataFormatError: empty, not a raster, not a GeoTIFF, several bands.
        CRSMismatchError: no CRS.
    """
    from forestgaps_engine.geo.raster_io import grid_of, open_single_band

    if upload.size_bytes == 0:
        raise InvalidDataFormatError(
            f"{upload.name}: the uploaded file is empty", hint="Upload a single-band GeoTIFF."
        )
    with open_single_band(upload.path) as dataset:
        if dataset.driver != "GTiff":
            raise InvalidDataFormatError(
                f"{upload.name}: is a {dataset.driver} raster, not a GeoTIFF",
                hint="Convert it first, e.g. gdal_translate -of GTiff in out.tif.",
            )
        if dataset.crs is None:
            raise CRSMismatchError(
                f"{upload.name}: the raster has no CRS",
                hint="Assign it, e.g. gdal_edit.py -a_srs EPSG:2154 dsm.tif, and upload again.",
            )
        return grid_of(dataset)


def check_preview_upload(upload: UploadedFile, max_input_mpix: float) -> None:
    """``/augment``: a single-band GeoTIFF with a CRS, within the pixel limit, readable.

    Raises:
        InvalidDataFormatError, CRSMismatchError: as ``check_geotiff``, or unreadable.
        ServiceError: 413 over ``max_input_mpix``.
    """
    from forestgaps_engine.geo.raster_io import open_single_band

    grid = check_geotiff(upload)
    plan = RequestPlan(grid, grid, grid)
    check_grid_size(plan, upload.name, max_input_mpix)
    with open_single_band(upload.path) as dataset:
        check_readable(dataset, upload.name)


def run_prediction(
    upload: UploadedFile,
    plan: RequestPlan,
    request: PredictRequest,
    loaded: Any,
    job_folder: Path,
    results_base_url: str,
    cancel: Callable[[], bool],
) -> tuple[dict[str, Any], dict[str, Path], dict[str, tuple[str, bool]]]:
    """Predict the upload into ``job_folder`` and build the JSON answer.

    Polygons stay in the GeoPackages ``predict`` writes; the answer links them, and a
    GeoJSON made from each on its first download (``serve.geojson``).

    Args:
        upload: the DSM, already checked.
        plan: its grids (from ``check_upload``).
        request: thresholds and options.
        loaded: the service's ``LoadedModel``.
        job_folder: private folder for the outputs (kept for downloads).
        results_base_url: ``/results/{job_id}`` prefix of the download links.
        cancel: returns True to stop (the client left, the server stops).

    Returns:
        (response body, published name -> file, GeoJSON name -> (GeoPackage name, WGS 84)).
    """
    import json

    from forestgaps_engine.detection import detect

    grid = plan.input_grid
    # The same engine call as the panel, Processing and the CLI; a server runs the model.
    result = detect(
        upload.path, request.thresholds_m, job_folder, model=loaded, route="model",
        config=request.inference, cancel=cancel,
    )  # fmt: skip
    to_wgs84 = request.geojson_crs == "wgs84"
    has_geojson = shutil.which("ogr2ogr") is not None
    published: dict[str, Path] = {}
    geojson: dict[str, tuple[str, bool]] = {}
    thresholds = []
    for item in result.thresholds:
        files = {}
        for kind, path in (
            ("mask", item.mask_path),
            ("probability", item.probability_path),
            ("gaps_gpkg", item.polygons_path),
        ):
            published[path.name] = path
            files[kind] = f"{results_base_url}/{path.name}"
        if has_geojson:
            name = item.polygons_path.with_suffix(".geojson").name
            geojson[name] = (item.polygons_path.name, to_wgs84)
            files["gaps_geojson"] = f"{results_base_url}/{name}"
        thresholds.append(
            {
                "threshold_m": item.threshold_m,
                "n_gaps": item.n_gaps,
                "total_gap_area_m2": item.total_gap_area_m2,
                "gap_fraction": item.gap_fraction,
                "files": files,
            }
        )
    summary = json.loads(result.summary_path.read_text(encoding="utf-8"))
    summary["dsm"] = upload.name
    summary["model"] = {key: value for key, value in summary["model"].items() if key != "path"}
    summary.pop("thresholds", None)
    result.summary_path.unlink(missing_ok=True)
    low_m, high_m = loaded.card.threshold_range_m
    warnings = [
        f"threshold {t:g} m lies outside the range the model was trained on "
        f"({low_m:g}..{high_m:g} m); expect a less reliable map"
        for t in request.thresholds_m
        if high_m > 0 and not low_m <= t <= high_m
    ]
    if not has_geojson:
        warnings.append(
            "GeoJSON is not offered: GDAL's ogr2ogr is not installed on the server; "
            "the polygons are in the GeoPackages (files.gaps_gpkg)"
        )
    body = {
        "input": {
            "name": upload.name,
            "crs": grid.crs,
            "width_px": grid.width_px,
            "height_px": grid.height_px,
            "resolution_m": list(grid.resolution_m),
        },
        "geojson_crs": "EPSG:4326" if to_wgs84 else grid.crs,
        "thresholds": thresholds,
        "warnings": warnings,
        "summary": summary,
    }
    return body, published, geojson
