"""One gap-detection run from :class:`InferenceParams`, callable on any thread.

Pure engine glue (no Qt): clip/relabel the DSM when asked, then the deep-learning
``predict`` (here, or on a ForestGaps server when ``server_url`` is set) or, when a
CHM/DTM is given and no model is available, the classic ``gaps_from_chm``. The QgsTask
in ``tasks.py`` wraps :func:`run_detection`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .dock.params import InferenceParams

logger = logging.getLogger(__name__)

Method = Literal["model", "classic"]
ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class ThresholdOutputs:
    """Files and figures of one threshold (areas in m², fraction of valid area 0..1)."""

    threshold_m: float
    polygons_path: Path
    n_gaps: int
    total_gap_area_m2: float
    gap_fraction: float
    probability_path: Path | None = None
    mask_path: Path | None = None
    gap_ids_path: Path | None = None


@dataclass(frozen=True)
class DetectionResult:
    """What a successful run wrote; ``notes`` are sentences for the log pane."""

    method: Method
    out_dir: Path
    thresholds: tuple[ThresholdOutputs, ...]
    notes: tuple[str, ...] = field(default=())


def model_is_available(model: str) -> tuple[bool, str]:
    """(True, "") for a card with weights, or an exported folder (card and model.onnx).

    Reads no weights and imports no torch.
    """
    from forestgaps_engine.errors import ModelError
    from forestgaps_engine.inference.model_source import model_card_file

    try:
        model_card_file(model)
    except ModelError as error:
        return False, error.message
    return True, ""


# How the panel names each clipping extent, and its "Whole DSM layer" choice.
EXTENT_WORDS = {"canvas": "the map extent", "polygon": "the polygon layer's extent"}
WHOLE_LAYER_LABEL = "Whole DSM layer"


def _raster_bounds(dataset: Any) -> tuple[float, float, float, float]:
    x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
    xs = (x0, x0 + dx * dataset.RasterXSize)
    ys = (y0, y0 + dy * dataset.RasterYSize)
    return min(xs), min(ys), max(xs), max(ys)


def _prepared_raster(
    source: str, params: InferenceParams, work_dir: Path, name: str, notes: list[str] | None = None
) -> str:
    """``source`` itself, or a VRT over it clipped to the extent / carrying the CRS QGIS uses.

    The extent is cut to the raster's bounds first, so the VRT never reaches past them;
    ``notes`` receives the clipped size in the panel's words.
    """
    if params.extent is None and params.crs_override is None:
        return source
    from osgeo import gdal

    from forestgaps_engine.errors import DataError

    gdal.UseExceptions()
    options: dict[str, Any] = {"format": "VRT"}
    is_clipped = params.extent is not None and params.extent_mode != "layer"
    extent_words = EXTENT_WORDS.get(params.extent_mode, "the processing extent")
    try:
        dataset = gdal.Open(source)
        if is_clipped:
            xmin, ymin, xmax, ymax = params.extent  # type: ignore[misc]
            rxmin, rymin, rxmax, rymax = _raster_bounds(dataset)
            xmin, ymin, xmax, ymax = (
                max(xmin, rxmin),
                max(ymin, rymin),
                min(xmax, rxmax),
                min(ymax, rymax),
            )
            if xmin >= xmax or ymin >= ymax:
                raise DataError(
                    f"{extent_words.capitalize()} does not overlap the {name.upper()} layer "
                    f"'{params.display_name}'",
                    hint=f"Choose '{WHOLE_LAYER_LABEL}' or pan to it.",
                )
            options["projWin"] = [xmin, ymax, xmax, ymin]
        if params.crs_override:
            options["outputSRS"] = params.crs_override
        target = work_dir / f"{name}.vrt"
        clipped = gdal.Translate(str(target), dataset, **options)
        width_px, height_px = clipped.RasterXSize, clipped.RasterYSize
    except RuntimeError as error:
        raise DataError(
            f"{source}: cannot clip to {extent_words} {params.extent} ({error})",
            hint=f"Check that {extent_words} overlaps the layer, or choose '{WHOLE_LAYER_LABEL}'.",
        ) from error
    finally:
        dataset = clipped = None  # closes both; the VRT is flushed to disk
    if is_clipped and notes is not None:
        notes.append(
            f"Processing extent: {extent_words}, clipped to {width_px} x {height_px} px of the "
            f"{name.upper()} layer '{params.display_name}'."
        )
    return str(target)


def in_panel_words(error: Any, params: InferenceParams, work_dir: Path) -> Any:
    """``error`` with the temporary clipped DSM it may name replaced by the layer and extent.

    An extent over nodata cells only makes the engine say "<tmp>/dsm.vrt: every cell is
    nodata"; the user chose a layer and an extent, so those are named, and the fix is the
    extent, not the file's nodata value.

    Returns:
        A new error of the same class (``error`` itself when it names no temporary file).
    """
    from forestgaps_engine.errors import EmptyRasterError

    internal = str(work_dir / "dsm.vrt")
    if internal not in error.message:
        return error
    extent_words = EXTENT_WORDS.get(params.extent_mode, "the processing extent")
    message = error.message.replace(
        internal, f"the DSM layer '{params.display_name}' within {extent_words}"
    )
    hint = error.hint
    if isinstance(error, EmptyRasterError):
        hint = (
            f"{extent_words.capitalize()} covers only nodata cells of the DSM; choose "
            f"'{WHOLE_LAYER_LABEL}' or pan to the forest."
        )
    return type(error)(message, hint=hint)


def _chm_for_classic(dsm: str, params: InferenceParams, work_dir: Path) -> str:
    reference = _prepared_raster(str(params.reference_path), params, work_dir, "reference")
    if params.reference_kind == "chm":
        return reference
    from forestgaps_engine.geo.raster_io import HEIGHT_PROFILE, write_array
    from forestgaps_engine.geo.warp import chm_from_dsm_dtm, harmonize

    bands = harmonize({"dsm": dsm, "dtm": reference})
    chm = chm_from_dsm_dtm(bands["dsm"], bands["dtm"])
    return str(write_array(work_dir / "chm.tif", chm.values, chm.grid, HEIGHT_PROFILE))


def _run_classic(
    dsm: str, params: InferenceParams, out_dir: Path, work_dir: Path,
    progress: ProgressFn | None, cancel: CancelFn | None,
) -> tuple[ThresholdOutputs, ...]:  # fmt: skip
    from forestgaps_engine.gaps.pipeline import gaps_from_chm

    chm = _chm_for_classic(dsm, params, work_dir)
    result = gaps_from_chm(
        chm, list(params.thresholds_m), out_dir, min_area_m2=params.min_gap_area_m2,
        progress=progress, cancel=cancel,
    )  # fmt: skip
    return tuple(
        ThresholdOutputs(
            threshold_m=t.threshold_m,
            polygons_path=t.gpkg_path,
            n_gaps=t.n_gaps,
            total_gap_area_m2=t.total_gap_area_m2,
            gap_fraction=t.gap_fraction,
            gap_ids_path=t.raster_path,
        )  # fmt: skip
        for t in result.thresholds
    )


def _run_model(
    dsm: str, params: InferenceParams, out_dir: Path,
    progress: ProgressFn | None, cancel: CancelFn | None,
) -> tuple[ThresholdOutputs, ...]:  # fmt: skip
    from forestgaps_engine.config.inference import InferenceConfig
    from forestgaps_engine.inference.api import predict

    config = InferenceConfig(
        tile_size_px=params.tile_size_px, overlap_px=params.overlap_px,
        batch_size=params.batch_size, min_gap_area_m2=params.min_gap_area_m2,
        device=params.device,
    )  # fmt: skip
    result = predict(
        dsm, list(params.thresholds_m), params.model, out_dir, config, progress, cancel
    )
    return tuple(
        ThresholdOutputs(
            threshold_m=t.threshold_m,
            polygons_path=t.gaps_path,
            n_gaps=t.n_gaps,
            total_gap_area_m2=t.total_gap_area_m2,
            gap_fraction=t.gap_fraction,
            probability_path=t.probability_path,
            mask_path=t.mask_path,
        )  # fmt: skip
        for t in result.thresholds
    )


def _geotiff_for_upload(dsm: str, work_dir: Path) -> Path:
    """``dsm`` itself when it is a GeoTIFF, else a GeoTIFF copy (the server takes GeoTIFF only)."""
    from osgeo import gdal

    from forestgaps_engine.errors import DataError

    gdal.UseExceptions()
    try:
        dataset = gdal.Open(dsm)
        if dataset.GetDriver().ShortName == "GTiff":
            return Path(dsm)
        target = work_dir / f"{Path(dsm).stem}.tif"
        gdal.Translate(str(target), dataset, format="GTiff", creationOptions=["COMPRESS=DEFLATE"])
    except RuntimeError as error:
        raise DataError(
            f"{dsm}: cannot be written as a GeoTIFF for the server ({error})",
            hint="Save the DSM layer as a GeoTIFF and run again.",
        ) from error
    finally:
        dataset = None  # closes the file
    return target


def _run_server(
    dsm: str, params: InferenceParams, out_dir: Path, work_dir: Path,
    progress: ProgressFn | None, cancel: CancelFn | None,
) -> tuple[tuple[ThresholdOutputs, ...], str]:  # fmt: skip
    from forestgaps_engine.files import ensure_writable_dir

    from .remote import predict_on_server

    server_url = params.server_url or ""
    options = {
        "tile_size_px": params.tile_size_px,
        "overlap_px": params.overlap_px,
        "min_gap_area_m2": params.min_gap_area_m2,
    }
    answer, files = predict_on_server(
        server_url, _geotiff_for_upload(dsm, work_dir), params.thresholds_m, options,
        ensure_writable_dir(out_dir), progress, cancel,
    )  # fmt: skip
    outputs = tuple(
        ThresholdOutputs(
            threshold_m=float(item["threshold_m"]),
            polygons_path=files[float(item["threshold_m"])]["gaps"],
            n_gaps=int(item["n_gaps"]),
            total_gap_area_m2=float(item["total_gap_area_m2"]),
            gap_fraction=float(item["gap_fraction"]),
            probability_path=files[float(item["threshold_m"])]["probability"],
            mask_path=files[float(item["threshold_m"])]["mask"],
        )  # fmt: skip
        for item in answer["thresholds"]
    )
    model = (answer.get("summary") or {}).get("model") or {}
    note = f"Predicted by the ForestGaps server {server_url}" + (
        f" (model {model['model_id']})." if model.get("model_id") else "."
    )
    return outputs, " ".join([note, *answer.get("warnings", [])])


def agreement_notes(outputs: tuple[ThresholdOutputs, ...], chm_path: str) -> list[str]:
    """Pixel agreement of each predicted mask with ``CHM <= threshold`` (ForestGapR's rule).

    Args:
        outputs: the model's per-threshold outputs (masks on the DSM grid).
        chm_path: canopy height raster, metres, overlapping the masks.

    Returns:
        One sentence per threshold with F1 and IoU over cells valid in both.
    """
    from forestgaps_engine.evaluation.metrics import confusion_counts
    from forestgaps_engine.geo.warp import harmonize

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


def run_detection(
    params: InferenceParams,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> DetectionResult:
    """Detect gaps as ``params`` say and write the outputs.

    With no usable model and a CHM/DTM given, the classic detector runs instead (said in
    ``notes``); with no usable model and no CHM/DTM, ``predict`` raises the ModelError
    that says why. A temporary output folder is removed again on failure or cancel.

    Args:
        params: the run's parameters (checked with ``problems()`` first).
        progress: ``progress(fraction 0..1, message)``.
        cancel: returns True to stop.

    Returns:
        The method used, the output folder and per-threshold outputs.

    Raises:
        ConfigError: ``params.problems()`` is not empty.
        ForestGapsError: whatever the engine raises (CancelledError on cancel).
    """
    from forestgaps_engine.errors import ConfigError, ForestGapsError

    problems = params.problems()
    if problems:
        raise ConfigError(" ".join(problems), hint="Fix the settings in the ForestGaps panel.")
    is_temporary = params.output_dir is None
    out_dir = Path(params.output_dir or tempfile.mkdtemp(prefix="forestgaps_"))
    work_dir = Path(tempfile.mkdtemp(prefix="forestgaps_work_"))
    notes: list[str] = []
    try:
        dsm = _prepared_raster(params.dsm_path, params, work_dir, "dsm", notes)
        has_model, why = (True, "") if params.server_url else model_is_available(params.model)
        if params.server_url:
            outputs, note = _run_server(dsm, params, out_dir, work_dir, progress, cancel)
            method: Method = "model"
            notes.append(note)
            if params.reference_path:
                notes.extend(agreement_notes(outputs, _chm_for_classic(dsm, params, work_dir)))
        elif not has_model and params.reference_path:
            notes.append(
                f"No model available ({why}); ran the classic detector on the "
                f"{'CHM' if params.reference_kind == 'chm' else 'DSM - DTM'} instead."
            )
            outputs = _run_classic(dsm, params, out_dir, work_dir, progress, cancel)
            method = "classic"
        else:
            outputs = _run_model(dsm, params, out_dir, progress, cancel)
            method = "model"
            if params.reference_path:
                notes.extend(agreement_notes(outputs, _chm_for_classic(dsm, params, work_dir)))
    except BaseException as error:
        if is_temporary:
            shutil.rmtree(out_dir, ignore_errors=True)
        if isinstance(error, ForestGapsError):
            worded = in_panel_words(error, params, work_dir)
            if worded is not error:
                raise worded from error
        raise
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return DetectionResult(method, out_dir, outputs, tuple(notes))
