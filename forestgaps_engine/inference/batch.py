"""Many DSMs, one model load: ``predict_many`` (``forestgaps predict A.tif B.tif DIR/``).

Each DSM's outputs go to ``out_dir/<dsm stem>/``; a single DSM file given alone writes
straight into ``out_dir``, as ``predict`` does. The model is loaded and the backend built
(and calibrated) once. ``shard_index``/``shard_count`` let independent processes split a
list: process i of n takes every n-th DSM of the sorted list, starting at i, so launching
n processes (``xargs -P``, a job array, one per GPU) covers every DSM exactly once.

A DSM the user must fix (damaged, empty, in feet...) does not stop the batch: it is
reported, its output folder removed, the others are predicted, and a ``BatchError``
listing the failures is raised at the end (the CLI exits 2).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.errors import (
    BatchError,
    CancelledError,
    ConfigError,
    DataError,
    ForestGapsError,
)
from forestgaps_engine.inference.api import PredictionResult, predict
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter

logger = logging.getLogger(__name__)

DSM_PATTERNS = ("*.tif", "*.tiff")


def expand_dsms(inputs: Sequence[str | Path]) -> list[Path]:
    """Files as given, folders as their ``*.tif``/``*.tiff``; sorted, duplicates dropped.

    Raises:
        DataError: a path that does not exist, or nothing to predict.
    """
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for pattern in DSM_PATTERNS for p in path.glob(pattern)))
        elif path.is_file():
            found.append(path)
        else:
            raise DataError(
                f"{path}: no such DSM file or folder", hint="Check the path (and its spelling)."
            )
    unique = sorted({path.resolve(): path for path in found}.values(), key=lambda p: str(p))
    if not unique:
        raise DataError(
            f"no DSM (*.tif) in {', '.join(str(item) for item in inputs)}",
            hint="Pass GeoTIFF files or a folder holding them.",
        )
    return unique


def shard(paths: Sequence[Path], shard_index: int, shard_count: int) -> list[Path]:
    """Every ``shard_count``-th path starting at ``shard_index``.

    Raises:
        ConfigError: ``shard_count < 1`` or ``shard_index`` outside ``[0, shard_count)``.
    """
    if shard_count < 1 or not 0 <= shard_index < shard_count:
        raise ConfigError(
            f"shard {shard_index} of {shard_count} does not exist",
            hint="Use --shard-count N >= 1 and --shard-index from 0 to N-1.",
        )
    return list(paths[shard_index::shard_count])


def output_folders(paths: Sequence[Path], out_dir: Path) -> list[Path]:
    """``out_dir/<stem>`` per DSM.

    Raises:
        ConfigError: two DSMs with the same stem (their outputs would collide).
    """
    stems: dict[str, Path] = {}
    for path in paths:
        if path.stem in stems:
            raise ConfigError(
                f"{stems[path.stem]} and {path} share the name {path.stem!r}",
                hint="Rename one, or predict them in separate runs with different --out.",
            )
        stems[path.stem] = path
    return [out_dir / path.stem for path in paths]


def predict_many(
    dsm_paths: Sequence[str | Path],
    thresholds_m: Sequence[float] | float,
    model: Any,
    out_dir: str | Path,
    config: InferenceConfig | None = None,
    shard_index: int = 0,
    shard_count: int = 1,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    terrain_prior: str | Path | None = None,
) -> list[PredictionResult]:
    """Predict several DSMs (files or folders of ``*.tif``) with one model load.

    Args:
        dsm_paths: DSM files and/or folders.
        thresholds_m: gap height thresholds, metres.
        model: as for ``predict``.
        out_dir: parent folder; each DSM writes into ``out_dir/<stem>/`` (a lone DSM
            file given alone: into ``out_dir`` itself).
        config: inference settings (the backend is built once for all DSMs).
        shard_index: which share of the sorted DSM list this process takes.
        shard_count: how many processes share the list.
        progress: ``progress(fraction, message)`` over the whole run.
        cancel: returns True to stop (the DSM in progress is cleaned up; finished ones stay).
        terrain_prior: one coarse DEM covering every DSM, for a model that takes one.

    Returns:
        One result per DSM predicted by this process, in list order.

    Raises:
        DataError: missing inputs; ConfigError: bad shard or colliding names.
        BatchError: some DSMs failed with a user error (each was logged, its output
            folder removed); the others finished, their results in ``error.results``.
            A lone DSM's own error is raised as it is.
        CancelledError: the caller cancelled; InferenceError etc. from model loading.
    """
    from forestgaps_engine.inference.backends import create_backend
    from forestgaps_engine.inference.model_source import as_inference_model
    from forestgaps_engine.inference.terrain_prior import (
        check_terrain_prior,
        model_for_prior,
        prior_backend_name,
    )

    config = config or InferenceConfig()
    every = expand_dsms(dsm_paths)
    mine = shard(every, shard_index, shard_count)
    is_single_file = len(dsm_paths) == 1 and Path(dsm_paths[0]).is_file()
    folders = [Path(out_dir)] if is_single_file else output_folders(every, Path(out_dir))
    targets = [folders[every.index(path)] for path in mine]
    reporter = Reporter(progress, cancel)
    logger.info("predicting %d of %d DSM(s) (shard %d/%d)", len(mine), len(every),
                shard_index, shard_count)  # fmt: skip
    if not mine:
        return []
    loaded = as_inference_model(model_for_prior(model, terrain_prior))
    check_terrain_prior(loaded, terrain_prior)
    calibration: dict[str, Any] = {}
    backend_name = prior_backend_name(config.backend) if terrain_prior else config.backend
    backend = create_backend(loaded, backend_name, config.device, calibration=calibration)
    results = []
    failures: list[tuple[Path, ForestGapsError]] = []
    for index, (path, target) in enumerate(zip(mine, targets, strict=True)):
        step = reporter.sub(index / len(mine), 1.0 / len(mine))
        is_new_target = not target.exists()
        try:
            result = predict(
                path,
                thresholds_m,
                loaded,
                target,
                config,
                progress=step.report,
                cancel=cancel,
                backend=backend,
                backend_calibration=calibration,
                terrain_prior=terrain_prior,
            )
        except CancelledError:
            raise
        except ForestGapsError as error:
            if is_new_target:
                # rmdir refuses a folder the failure left files in.
                with contextlib.suppress(OSError):
                    target.rmdir()
            if len(mine) == 1:
                raise
            logger.warning("skipped, the batch goes on: %s", _named(path, error))
            failures.append((path, error))
            continue
        results.append(result)
        logger.info("%s -> %s", path, target)
    if failures:
        named = "; ".join(_named(path, error) for path, error in failures)
        hint = (
            failures[0][1].hint
            if len(failures) == 1
            else "Fix or remove the DSMs named and run again for them; the others' outputs stay."
        )
        raise BatchError(
            f"{len(failures)} of {len(mine)} DSM(s) failed, the rest were predicted: {named}",
            results=results,
            failures=failures,
            hint=hint,
        )
    return results


def _named(path: Path, error: ForestGapsError) -> str:
    """The error's message, prefixed with the DSM unless it names it already."""
    return error.message if str(path) in error.message else f"{path}: {error.message}"

