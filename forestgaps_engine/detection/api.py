"""``detect``: the one engine call behind every face's gap detection.

It decides the route (the model here, the model on a ForestGaps server, or the classic
ForestGapR rule on a CHM), computes the CHM from DSM - DTM when a DTM is given, cuts
the inputs to an extent, and runs. The dock, the Processing algorithms, the CLI and the
service call it with the same options, so a behaviour is fixed here once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.detection.agreement import agreement_notes
from forestgaps_engine.detection.chm import write_chm
from forestgaps_engine.detection.extent import Bounds, prepare_raster
from forestgaps_engine.detection.remote import RemoteServer
from forestgaps_engine.detection.result import ROUTES, DetectionResult, Method, Route
from forestgaps_engine.detection.routes import (
    model_is_available,
    run_classic,
    run_model,
    run_remote,
)
from forestgaps_engine.errors import ConfigError, ForestGapsError
from forestgaps_engine.progress import CancelCallback, ProgressCallback


def in_extent_words(source: str | Path, extent: Bounds) -> str:
    """How an error names a raster cut to ``extent`` ("dsm.tif within the extent (...)")."""
    return f"{source} within the extent ({', '.join(f'{v:.2f}' for v in extent)})"


def _check_inputs(
    dsm: str | Path | None, chm: str | Path | None, dtm: str | Path | None,
    route: str, remote: RemoteServer | None,
) -> None:  # fmt: skip
    if route not in ROUTES:
        raise ConfigError(f"route {route!r} is not one of {', '.join(ROUTES)}")
    if dtm is not None and dsm is None:
        raise ConfigError(
            f"{dtm}: a DTM alone gives no canopy height", hint="Give the DSM with the DTM."
        )
    if dsm is None and chm is None:
        raise ConfigError("no DSM and no CHM were given", hint="Give a DSM, or a CHM.")
    if chm is not None and dtm is not None:
        raise ConfigError(
            f"both a CHM ({chm}) and a DTM ({dtm}) were given",
            hint="Give the CHM, or the DTM for CHM = DSM - DTM, not both.",
        )
    if (route == "model" or remote is not None) and dsm is None:
        raise ConfigError(
            f"{chm}: the model reads a DSM, not a CHM",
            hint="Give the DSM, or detect gaps on the CHM with the classic rule.",
        )
    if route == "classic" and remote is not None:
        raise ConfigError(
            "a ForestGaps server runs the model, not the classic rule",
            hint="Run the classic rule without a server.",
        )


def detect(
    dsm: str | Path | None,
    thresholds_m: Sequence[float],
    out_dir: str | Path,
    *,
    chm: str | Path | None = None,
    dtm: str | Path | None = None,
    model: Any = "default",
    route: Route = "auto",
    extent: Bounds | None = None,
    crs_overrides: Mapping[str, str] | None = None,
    config: InferenceConfig | None = None,
    remote: RemoteServer | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    terrain_prior: str | Path | None = None,
) -> DetectionResult:
    """Detect gaps at every threshold and write the outputs into ``out_dir``.

    Route: ``"classic"`` runs ForestGapR's rule on the CHM (given, or DSM - DTM);
    ``"model"`` runs the model on the DSM (on ``remote`` when given); ``"auto"`` runs the
    model, or the classic rule when no DSM is given, or when the model is not usable and
    a CHM/DTM is (said in ``notes``). When the model runs and a CHM/DTM is given, notes
    say how far each mask agrees with ``CHM <= threshold``.

    Args:
        dsm: surface heights, metres (None: classic on ``chm``).
        thresholds_m: gap height thresholds, metres (> 0).
        out_dir: output folder (created if needed).
        chm: canopy height raster, metres above ground.
        dtm: ground heights, metres: the CHM is DSM - DTM on the DSM's grid.
        model: model folder, ``"default"`` or a loaded model (as for ``predict``).
        route: ``"auto"``, ``"model"`` or ``"classic"``.
        extent: (xmin, ymin, xmax, ymax) in the inputs' CRS to cut them to; None: whole.
        crs_overrides: ``{"dsm"|"chm"|"dtm": CRS}`` for inputs storing none (or a wrong one).
        config: tiling, device, backend and the gap area bounds (``min_gap_area_m2``,
            ``max_gap_area_m2``, None: no upper bound); used by every route.
        remote: a server that runs the model instead of this computer.
        progress: ``progress(fraction 0..1, message)``.
        cancel: returns True to stop; this run's outputs are then removed.
        terrain_prior: coarse DEM for a model trained with a terrain prior (any CRS and
            cell size); the model route on this computer only.

    Returns:
        The method used, the files written and the notes.

    Raises:
        ConfigError: an unusable combination of inputs or options.
        ExtentOutsideError: ``extent`` misses an input.
        ModelError: no usable model and no CHM/DTM to fall back on.
        ForestGapsError: whatever the route raises (CancelledError on cancel).
    """
    from forestgaps_engine.files import all_or_nothing
    from forestgaps_engine.gaps.thresholds import validate_thresholds
    from forestgaps_engine.partials import partial_directory

    _check_inputs(dsm, chm, dtm, route, remote)
    if terrain_prior is not None and remote is not None:
        raise ConfigError(
            "a ForestGaps server takes no terrain prior (--terrain-prior)",
            hint="Run the model on this computer, or omit --terrain-prior.",
        )
    thresholds = tuple(validate_thresholds(thresholds_m))
    config = config or InferenceConfig()
    overrides = dict(crs_overrides or {})
    notes: list[str] = []
    prepared_dsm = None
    with (
        all_or_nothing(out_dir) as (out, _written),
        partial_directory(out, "forestgaps-detect") as work_dir,
    ):
        try:
            if dsm is not None:
                prepared_dsm = prepare_raster(dsm, work_dir, "dsm", extent, overrides.get("dsm"))
            reference = chm if chm is not None else dtm

            def classic_chm() -> str:
                """The CHM to run the classic rule on (or to compare the masks with)."""
                kind = "chm" if chm is not None else "dtm"
                if kind == "chm" and extent is None:
                    return str(chm)  # read as given: a point cloud too, its CRS assigned there
                prepared = prepare_raster(reference, work_dir, kind, extent, overrides.get(kind))
                if kind == "chm":
                    return prepared.path
                return str(write_chm(prepared_dsm.path, prepared.path, work_dir / "chm.tif"))

            chm_crs = overrides.get("chm") if chm is not None and extent is None else None

            method: Method = "classic" if route == "classic" or dsm is None else "model"
            if method == "model" and remote is None and route == "auto" and reference is not None:
                has_model, why = model_is_available(model)
                if not has_model:
                    notes.append(
                        f"No model available ({why}); ran the classic detector on the "
                        f"{'CHM' if chm is not None else 'DSM - DTM'} instead."
                    )
                    method = "classic"
            if method == "classic":
                if reference is None:
                    raise ConfigError(
                        "the classic rule needs a CHM, or a DTM with the DSM",
                        hint="Give the CHM or the DTM.",
                    )
                outputs, summary_path = run_classic(
                    classic_chm(), thresholds, out, config, progress, cancel, chm_crs
                )
            elif remote is not None:
                outputs, summary_path, note = run_remote(
                    prepared_dsm.path, thresholds, remote, out, work_dir, config, progress, cancel
                )
                notes.append(note)
            else:
                outputs, summary_path = run_model(
                    prepared_dsm.path, thresholds, model, out, config, progress, cancel,
                    terrain_prior,
                )  # fmt: skip
            if method == "model" and reference is not None:
                notes.extend(agreement_notes(outputs, classic_chm()))
        except ForestGapsError as error:
            named = _named_by_source(error, work_dir, {"dsm": dsm, "chm": chm, "dtm": dtm}, extent)
            if named is error:
                raise
            raise named from error
        is_clipped = prepared_dsm is not None and prepared_dsm.is_clipped
        return DetectionResult(
            method=method, out_dir=out, thresholds=outputs, summary_path=summary_path,
            notes=tuple(notes), clipped_size_px=prepared_dsm.size_px if is_clipped else None,
            server_url=remote.url if remote is not None else None,
        )  # fmt: skip


def _named_by_source(
    error: ForestGapsError, work_dir: Path, sources: Mapping[str, Any], extent: Bounds | None
) -> ForestGapsError:
    """``error`` naming the user's files where it names this run's temporary ones.

    A cut DSM is read through ``<work>/dsm.vrt`` and DSM - DTM through ``<work>/chm.tif``;
    the user gave neither, so the message names the file (and extent) they gave.

    Returns:
        A new error of the same class, or ``error`` itself when it names no temporary file.
    """
    message = error.message
    for kind, source in sources.items():
        if source is not None:
            shown = str(source) if extent is None else in_extent_words(source, extent)
            message = message.replace(str(work_dir / f"{kind}.vrt"), shown)
    if sources.get("dtm") is not None:
        message = message.replace(
            str(work_dir / "chm.tif"), f"DSM - DTM of {sources['dsm']} and {sources['dtm']}"
        )
    if message == error.message:
        return error
    try:
        return type(error)(message, hint=error.hint)
    except TypeError:  # a subclass with other arguments keeps its own words
        return error
