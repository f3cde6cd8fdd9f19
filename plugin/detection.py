"""One gap-detection run from :class:`InferenceParams`, callable on any thread.

Thin glue: the panel's parameters become one ``forestgaps_engine.detection.detect`` call
(which picks the model, the server or the classic detector, computes DSM - DTM and cuts
the extent); the panel's own words go into the notes and the errors. The QgsTask in
``tasks.py`` wraps :func:`run_detection`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from forestgaps_engine.detection.result import DetectionResult, ThresholdOutputs

from .dock.params import InferenceParams

__all__ = ["DetectionResult", "ThresholdOutputs", "model_is_available", "run_detection"]

logger = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]

# How the panel names each clipping extent, and its "Whole DSM layer" choice.
EXTENT_WORDS = {"canvas": "the map extent", "polygon": "the polygon layer's extent"}
WHOLE_LAYER_LABEL = "Whole DSM layer"
# The panel's fields for the engine's InferenceConfig keys.
CONFIG_LABELS = {
    "tile_size_px": "Tile size",
    "overlap_px": "Overlap",
    "batch_size": "Batch size",
    "min_gap_area_m2": "Minimum gap area",
    "max_gap_area_m2": "Maximum gap area",
    "device": "Device",
}


def model_is_available(model: str) -> tuple[bool, str]:
    """(True, "") for a card with weights, or an exported folder; else (False, why)."""
    from forestgaps_engine.detection import model_is_available as engine_check

    return engine_check(model)


def _extent(params: InferenceParams) -> tuple[float, float, float, float] | None:
    return params.extent if params.extent_mode != "layer" else None


def _config(params: InferenceParams) -> Any:
    """The engine's InferenceConfig from the panel's values (ConfigError in panel words)."""
    from pydantic import ValidationError

    from forestgaps_engine.config.inference import InferenceConfig
    from forestgaps_engine.errors import ConfigError

    try:
        return InferenceConfig(
            tile_size_px=params.tile_size_px, overlap_px=params.overlap_px,
            batch_size=params.batch_size, min_gap_area_m2=params.min_gap_area_m2,
            max_gap_area_m2=params.max_gap_area_m2 or None, device=params.device,
        )  # fmt: skip
    except ValidationError as error:
        problems = "; ".join(
            f"{CONFIG_LABELS.get(str(item['loc'][0]) if item['loc'] else '', 'Settings')}: "
            f"{item['msg']}"
            for item in error.errors()
        )
        raise ConfigError(problems, hint="Fix the settings in the ForestGaps panel.") from None


def in_panel_words(error: Any, params: InferenceParams) -> Any:
    """``error`` naming the layer and the extent the user chose, not files and bounds.

    The engine names a cut DSM "dsm.tif within the extent (...)", and an extent that
    misses the raster by both bounds; the user chose a layer and an extent, so those are
    named, and the fix is the extent, not the file's nodata value.

    Returns:
        A new error (``error`` itself when it names no extent).
    """
    from forestgaps_engine.detection import ExtentOutsideError, in_extent_words
    from forestgaps_engine.errors import DataError, EmptyRasterError

    extent = _extent(params)
    if extent is None:
        return error
    extent_words = EXTENT_WORDS.get(params.extent_mode, "the processing extent")
    if isinstance(error, ExtentOutsideError):
        kind = "DSM" if error.source == str(params.dsm_path) else params.reference_kind.upper()
        return DataError(
            f"{extent_words.capitalize()} does not overlap the {kind} layer "
            f"'{params.display_name}'",
            hint=f"Choose '{WHOLE_LAYER_LABEL}' or pan to it.",
        )
    internal = in_extent_words(params.dsm_path, extent)
    if internal not in error.message:
        return error
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


def run_detection(
    params: InferenceParams,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> DetectionResult:
    """Detect gaps as ``params`` say and write the outputs.

    With no usable model and a CHM/DTM given, the classic detector runs instead (said in
    ``notes``); with no usable model and no CHM/DTM, the engine raises the ModelError
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
    from forestgaps_engine.detection import detect
    from forestgaps_engine.errors import ConfigError, ForestGapsError

    problems = params.problems()
    if problems:
        raise ConfigError(" ".join(problems), hint="Fix the settings in the ForestGaps panel.")
    config = _config(params)
    remote = None
    if params.server_url:
        from .remote import panel_server

        # Before any folder exists: an unreadable token configuration leaves nothing.
        remote = panel_server(params.server_url, params.server_authcfg or "")
    is_temporary = params.output_dir is None
    out_dir = Path(params.output_dir or tempfile.mkdtemp(prefix="forestgaps_"))
    reference = {params.reference_kind: params.reference_path} if params.reference_path else {}
    try:
        result = detect(
            params.dsm_path, params.thresholds_m, out_dir, model=params.model,
            extent=_extent(params), config=config, remote=remote,
            crs_overrides={"dsm": params.crs_override} if params.crs_override else None,
            progress=progress, cancel=cancel, terrain_prior=params.terrain_prior_path,
            **reference,
        )  # fmt: skip
    except BaseException as error:
        if is_temporary:
            shutil.rmtree(out_dir, ignore_errors=True)
        if isinstance(error, ForestGapsError):
            worded = in_panel_words(error, params)
            if worded is not error:
                raise worded from error
        raise
    if result.clipped_size_px is None:
        return result
    width_px, height_px = result.clipped_size_px
    extent_words = EXTENT_WORDS.get(params.extent_mode, "the processing extent")
    clipped = (
        f"Processing extent: {extent_words}, clipped to {width_px} x {height_px} px of the "
        f"DSM layer '{params.display_name}'."
    )
    return replace(result, notes=(clipped, *result.notes))
