"""The three ways a detection runs, each mapped onto :class:`ThresholdOutputs`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.detection.remote import RemoteServer, geotiff_for_upload, predict_on_server
from forestgaps_engine.detection.result import ThresholdOutputs
from forestgaps_engine.gaps import pipeline
from forestgaps_engine.progress import CancelCallback, ProgressCallback

# Options a server takes as /predict form fields (the others are its own settings).
SERVER_OPTIONS = ("tile_size_px", "overlap_px", "min_gap_area_m2", "max_gap_area_m2")


def model_is_available(model: Any) -> tuple[bool, str]:
    """(True, "") for a card with weights, an exported folder, or a model object.

    Reads no weights and imports no torch.
    """
    from forestgaps_engine.errors import ModelError
    from forestgaps_engine.inference.model_source import model_card_file

    if not isinstance(model, str | Path):
        return True, ""
    try:
        model_card_file(model)
    except ModelError as error:
        return False, error.message
    return True, ""


def whole_area_m2(raster: str) -> float:
    """Area the raster covers, m² (in its CRS units squared): no gap can be larger.

    A file rasterio cannot open gets the largest float: reading it for the gaps then
    reports what is wrong with it, in the reader's words.
    """
    import sys

    import rasterio

    try:
        with rasterio.open(raster) as dataset:
            return abs(dataset.transform.a * dataset.transform.e) * dataset.width * dataset.height
    except rasterio.errors.RasterioError:
        return sys.float_info.max


def run_classic(
    chm: str, thresholds_m: tuple[float, ...], out_dir: Path, config: InferenceConfig,
    progress: ProgressCallback | None, cancel: CancelCallback | None, crs: str | None = None,
) -> tuple[tuple[ThresholdOutputs, ...], Path]:  # fmt: skip
    """ForestGapR's rule on ``chm`` with the config's area bounds (no maximum: the raster's).

    ``crs`` is assigned to a CHM storing none (point clouds included, which GDAL cannot
    cut), so an uncut CHM is read by ``gaps_from_chm`` itself.
    """
    max_area_m2 = config.max_gap_area_m2
    if max_area_m2 is None:
        max_area_m2 = max(whole_area_m2(chm), config.min_gap_area_m2)
    result = pipeline.gaps_from_chm(
        chm, list(thresholds_m), out_dir, min_area_m2=config.min_gap_area_m2,
        max_area_m2=max_area_m2, crs=crs, progress=progress, cancel=cancel,
    )  # fmt: skip
    outputs = tuple(
        ThresholdOutputs(
            threshold_m=t.threshold_m, polygons_path=t.gpkg_path, n_gaps=t.n_gaps,
            total_gap_area_m2=t.total_gap_area_m2, gap_fraction=t.gap_fraction,
            gap_ids_path=t.raster_path, stats_path=t.stats_path,
        )  # fmt: skip
        for t in result.thresholds
    )
    return outputs, result.summary_path


def run_model(
    dsm: str, thresholds_m: tuple[float, ...], model: Any, out_dir: Path,
    config: InferenceConfig, progress: ProgressCallback | None, cancel: CancelCallback | None,
    terrain_prior: str | Path | None = None,
) -> tuple[tuple[ThresholdOutputs, ...], Path]:  # fmt: skip
    """The model on this computer (``inference.api.predict``), with a coarse DEM if given."""
    from forestgaps_engine.inference.api import predict

    result = predict(
        dsm, list(thresholds_m), model, out_dir, config, progress, cancel,
        terrain_prior=terrain_prior,
    )  # fmt: skip
    outputs = tuple(
        ThresholdOutputs(
            threshold_m=t.threshold_m, polygons_path=t.gaps_path, n_gaps=t.n_gaps,
            total_gap_area_m2=t.total_gap_area_m2, gap_fraction=t.gap_fraction,
            probability_path=t.probability_path, mask_path=t.mask_path,
        )  # fmt: skip
        for t in result.thresholds
    )
    return outputs, result.summary_path


def run_remote(
    dsm: str, thresholds_m: tuple[float, ...], server: RemoteServer, out_dir: Path,
    work_dir: Path, config: InferenceConfig,
    progress: ProgressCallback | None, cancel: CancelCallback | None,
) -> tuple[tuple[ThresholdOutputs, ...], Path, str]:  # fmt: skip
    """The model on a ForestGaps server; outputs downloaded under local names.

    Returns:
        (outputs, summary.json, a sentence naming the server, its model and warnings).
    """
    # An unset maximum area is not sent.
    options = config.model_dump(include=set(SERVER_OPTIONS), exclude_none=True)
    answer, files, summary_path = predict_on_server(
        server, geotiff_for_upload(dsm, work_dir), thresholds_m, options, out_dir, progress,
        cancel,
    )  # fmt: skip
    outputs = []
    for item in answer["thresholds"]:
        threshold_m = float(item["threshold_m"])
        outputs.append(
            ThresholdOutputs(
                threshold_m=threshold_m, polygons_path=files[threshold_m]["gaps"],
                n_gaps=int(item["n_gaps"]), total_gap_area_m2=float(item["total_gap_area_m2"]),
                gap_fraction=float(item["gap_fraction"]),
                probability_path=files[threshold_m]["probability"],
                mask_path=files[threshold_m]["mask"],
            )  # fmt: skip
        )
    model = (answer.get("summary") or {}).get("model") or {}
    note = f"Predicted by the ForestGaps server {server.url}" + (
        f" (model {model['model_id']})." if model.get("model_id") else "."
    )
    return tuple(outputs), summary_path, " ".join([note, *answer.get("warnings", [])])
