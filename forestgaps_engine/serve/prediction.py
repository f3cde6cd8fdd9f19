"""``POST /predict`` behind the HTTP layer: form fields -> checked upload -> ``predict`` -> JSON.

Everything here is blocking (rasterio, torch) and runs in a worker thread; the model is
shared by every request, so the prediction itself runs under the service's slot semaphore.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import ValidationError

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.config.serve import ServeConfig
from forestgaps_engine.errors import CRSMismatchError, InvalidDataFormatError
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.serve.errors import ServiceError
from forestgaps_engine.serve.uploads import UploadedFile

logger = logging.getLogger(__name__)

INFERENCE_FIELDS = ("tile_size_px", "overlap_px", "min_gap_area_m2", "probability_cutoff")
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
    unknown = sorted(set(fields) - set(PREDICT_FIELDS))
    if unknown:
        raise ServiceError(
            422,
            f"unknown form field(s) {', '.join(repr(name) for name in unknown)}",
            f"Accepted fields: file, {', '.join(PREDICT_FIELDS)}.",
        )
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
            "min_gap_area_m2 >= 0.",
        ) from None
    return PredictRequest(thresholds_m, merged, geojson_crs)  # type: ignore[arg-type]


def check_upload(upload: UploadedFile, max_input_mpix: float) -> Grid:
    """The grid of an uploaded DSM, after checking it is a single-band GeoTIFF with a CRS.

    Raises:
        InvalidDataFormatError: not a raster, not a GeoTIFF, several bands.
        CRSMismatchError: no CRS.
        ServiceError: 413 when the raster has more than ``max_input_mpix`` megapixels.
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
        grid = grid_of(dataset)
    mpix = grid.width_px * grid.height_px / 1e6
    if mpix > max_input_mpix:
        raise ServiceError(
            413,
            f"{upload.name}: {grid.width_px} x {grid.height_px} px ({mpix:.1f} MPix) exceeds "
            f"the {max_input_mpix:g} MPix limit",
            "Clip the raster into smaller parts, or raise serve.max_input_mpix.",
        )
    return grid


def gaps_geojson(mask_path: Path, threshold_m: float, to_wgs84: bool) -> dict[str, Any]:
    """The gaps of a ``gap_mask`` raster as a GeoJSON FeatureCollection.

    Gaps are numbered as the engine numbers them (8-connected, row-major), so ``gap_id``
    matches the GeoPackage; ``area_m2`` and ``perimeter_m`` only for metric CRSs.
    """
    import rasterio

    from forestgaps_engine.gaps.detector import label_gaps
    from forestgaps_engine.geo.crs import is_geographic
    from forestgaps_engine.geo.gpkg import FieldSpec, geojson_feature_collection
    from forestgaps_engine.geo.raster_io import grid_of
    from forestgaps_engine.geo.vectorize import gap_features
    from forestgaps_engine.inference.cut import MASK_GAP

    with rasterio.open(mask_path) as dataset:
        mask = dataset.read(1)
        grid = grid_of(dataset)
    pseudo_height = np.where(mask == MASK_GAP, np.float32(0.0), np.float32(1.0))
    ids = label_gaps(pseudo_height, 0.5, grid.cell_area_m2, 0.0, float("inf"))
    n_gaps = int(ids.max(initial=0))
    features = gap_features(ids, grid, {"threshold_m": np.full(n_gaps, float(threshold_m))})
    fields = [FieldSpec("gap_id", "INTEGER"), FieldSpec("threshold_m", "REAL")]
    if not is_geographic(grid.crs):
        fields += [FieldSpec("area_m2", "REAL"), FieldSpec("perimeter_m", "REAL")]
    return geojson_feature_collection(features, fields, grid.crs, to_wgs84=to_wgs84)


def run_prediction(
    upload: UploadedFile,
    grid: Grid,
    request: PredictRequest,
    loaded: Any,
    job_folder: Path,
    results_base_url: str,
) -> tuple[dict[str, Any], dict[str, Path], float]:
    """Predict the upload into ``job_folder`` and build the JSON answer.

    Args:
        upload: the DSM, already checked.
        grid: its grid (from ``check_upload``).
        request: thresholds and options.
        loaded: the service's ``LoadedModel``.
        job_folder: private folder for the outputs (kept for downloads).
        results_base_url: ``/results/{job_id}`` prefix of the download links.

    Returns:
        (response body, published name -> file, input megapixels).
    """
    from forestgaps_engine.inference.api import predict

    result = predict(upload.path, request.thresholds_m, loaded, job_folder, request.inference)
    to_wgs84 = request.geojson_crs == "wgs84"
    published: dict[str, Path] = {}
    thresholds = []
    for item in result.thresholds:
        files = {}
        for kind, path in (
            ("mask", item.mask_path),
            ("probability", item.probability_path),
            ("gaps_gpkg", item.gaps_path),
        ):
            published[path.name] = path
            files[kind] = f"{results_base_url}/{path.name}"
        thresholds.append(
            {
                "threshold_m": item.threshold_m,
                "n_gaps": item.n_gaps,
                "total_gap_area_m2": item.total_gap_area_m2,
                "gap_fraction": item.gap_fraction,
                "files": files,
                "gaps": gaps_geojson(item.mask_path, item.threshold_m, to_wgs84),
            }
        )
    summary = dict(result.summary)
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
    return body, published, grid.width_px * grid.height_px / 1e6


def remove_folder(folder: Path) -> None:
    """Delete a request's private folder (uploads, failed outputs)."""
    shutil.rmtree(folder, ignore_errors=True)
