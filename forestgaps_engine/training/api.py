"""``train()``: the one public engine call that turns a prepared dataset into a model folder.

Used by ``forestgaps train`` and the QGIS plugin alike. It builds the model through the
registry, the Normalizer from ``normalization.json``, streaming datasets from the shards
listed in ``manifest.json``, the callbacks, runs :class:`Trainer`, and writes
``<training.output_dir>/model/`` (``model.safetensors`` + ``model_card.json``) from the
best checkpoint. Checkpoints live in ``<training.output_dir>/checkpoints/`` and TensorBoard
events in ``<training.output_dir>/tensorboard/``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.config.model import check_native_resolutions
from forestgaps_engine.data.real_sites.provenance import sources_of_manifest
from forestgaps_engine.data.records import NORMALIZATION_NAME, prepared_cell_size_m, prepared_file
from forestgaps_engine.errors import ConfigError, DataError, TrainingError
from forestgaps_engine.models.card import ModelCard, save_model
from forestgaps_engine.progress import CancelCallback, ProgressCallback

if TYPE_CHECKING:
    import torch
    from torch import nn
    from torch.utils.data import Dataset

    from forestgaps_engine.config.training import TrainingConfig
    from forestgaps_engine.training.callbacks.checkpoint import ModelCheckpoint
    from forestgaps_engine.training.distributed import DistributedContext
    from forestgaps_engine.training.loader_calibration import LoaderSetting
    from forestgaps_engine.training.trainer import Trainer

logger = logging.getLogger(__name__)

MODEL_VERSION = "1.0.0"
SHUFFLE_BUFFER_SAMPLES = 256


@dataclass(frozen=True)
class TrainResult:
    """What a finished training produced.

    Attributes:
        model_dir: folder with ``model.safetensors`` and ``model_card.json`` (None on
            ranks other than 0).
        checkpoint_dir: folder with ``last.pt`` / ``best.pt``.
        history: one dict of metrics per epoch run (resumed epochs included).
        metrics: validation metrics of the saved (best) epoch.
        epochs_run: epochs completed in total.
        duration_s: wall time of this call, seconds.
    """

    model_dir: Path | None
    checkpoint_dir: Path
    history: list[dict[str, float]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    epochs_run: int = 0
    duration_s: float = 0.0


def dataset_facts(manifest: dict[str, Any], config: ForestGapsConfig) -> dict[str, Any]:
    """Thresholds, resolution, tile size and content hash of a prepared dataset.

    The manifest wins where it records a fact; the config fills what it does not.
    Thresholds are the config's that the dataset has masks for.

    Raises:
        DataError: when none of the configured thresholds was prepared.
    """
    used = manifest.get("config", {})
    prepared = manifest.get("thresholds_m") or used.get("gaps", {}).get("thresholds_m")
    prepared_m = [float(t) for t in (prepared or config.gaps.thresholds_m)]
    thresholds_m = [t for t in config.gaps.thresholds_m if t in prepared_m]
    if not thresholds_m:
        raise DataError(
            f"gaps.thresholds_m {config.gaps.thresholds_m} were not prepared "
            f"(the dataset has masks at {prepared_m})",
            hint="Train with thresholds the dataset has, or run 'forestgaps prepare' again.",
        )
    data = used.get("data", {})
    resolution_m = prepared_cell_size_m(manifest)
    resolution_m = resolution_m or config.data.resolution_m or config.synth.resolution_m
    native = config.model.native_resolutions_m
    if native is not None:
        try:
            check_native_resolutions(native, float(resolution_m))
        except ValueError as error:
            # Checked before training, not when the card is written at its end.
            raise ConfigError(
                f"model.native_resolutions_m: {error}",
                hint=f"Use a range that holds {float(resolution_m):g}, or leave it unset.",
            ) from error
    return {
        "thresholds_m": thresholds_m,
        "resolution_m": float(resolution_m),
        "native_resolutions_m": native,
        "tile_size_px": int(
            manifest.get("tile_size_px") or data.get("tile_size_px") or config.data.tile_size_px
        ),
        "content_hash": str(manifest.get("content_sha256") or manifest.get("content_hash") or ""),
        "data_sources": sources_of_manifest(manifest) or None,
    }


def loader_setting(
    training: TrainingConfig,
    dataset: Dataset,
    tile_size_px: int,
    device: torch.device,
    context: DistributedContext,
) -> LoaderSetting:
    """DataLoader workers/prefetch/pinning: the configured count, or calibrated for ``auto``.

    ``auto`` measures settings on ``dataset`` (rank 0 measures, the other ranks then read
    its cached choice), capped by the environment (QGIS: 0, Colab: 2-4) and, on a CPU
    device, by half the cores, which the training step itself needs.
    """
    from torch.utils.data import DataLoader

    from forestgaps_engine.environment import detect_environment
    from forestgaps_engine.training import distributed
    from forestgaps_engine.training.loader_calibration import LoaderSetting, calibrate_loader

    can_pin = device.type == "cuda"
    if training.num_workers != "auto":
        workers = int(training.num_workers)
        setting = LoaderSetting(workers, 2 if workers > 0 else None, can_pin)
        logger.info("data loader: %s (training.num_workers)", _describe(setting))
        return setting
    environment = detect_environment()
    max_workers = environment.max_workers()
    if device.type == "cpu":
        max_workers = min(max_workers, (os.cpu_count() or 2) // 2)

    def make_loader(setting: LoaderSetting) -> DataLoader:
        return DataLoader(dataset, batch_size=training.batch_size, **setting.loader_kwargs())

    if not context.is_main_process:
        distributed.barrier(context)
    calibration = calibrate_loader(
        make_loader,
        tile_size_px,
        training.batch_size,
        max_workers,
        can_pin=can_pin,
        device_type=device.type,
    )
    if context.is_main_process:
        distributed.barrier(context)
    if calibration.measurements:
        logger.info(
            "data loader calibrated (%s environment, at most %d workers): %s",
            environment.name,
            max_workers,
            "; ".join(f"{_describe(s)} {rate:.0f}/s" for s, rate in calibration.measurements),
        )
    if calibration.from_cache:
        how = f"{calibration.samples_per_s:.0f} samples/s (cached calibration)"
    elif calibration.measurements:
        how = f"{calibration.samples_per_s:.0f} samples/s (fastest measured)"
    else:
        how = f"the {environment.name} environment allows at most {max_workers} workers"
    logger.info("data loader: %s, %s", _describe(calibration.setting), how)
    return calibration.setting


def _describe(setting: LoaderSetting) -> str:
    text = f"{setting.num_workers} workers"
    if setting.num_workers:
        text += f" prefetch {setting.prefetch_factor}"
    return text + (" pinned" if setting.pin_memory else "")


def train(
    config: ForestGapsConfig,
    prepared_dir: str | Path | None = None,
    resume: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> TrainResult:
    """Train ``config.model`` on a prepared dataset; write checkpoints and the model folder.

    Args:
        config: the whole config (model, gaps thresholds, training section).
        prepared_dir: output of ``forestgaps prepare``; None uses ``config.data.output_dir``.
        resume: continue from ``<training.output_dir>/checkpoints/last.pt``.
        progress: ``(fraction, message)`` callback.
        cancel: returns True to stop (raises CancelledError; checkpoints stay).

    Returns:
        The model folder, checkpoints, per-epoch history and the saved epoch's metrics.

    Raises:
        DataError: the prepared folder is missing or incomplete.
        TrainingError: non-finite loss, missing checkpoint on resume, ...
        OutOfMemoryError: the device ran out of memory (lower the batch size).
    """
    import torch
    from torch.utils.data import DataLoader

    from forestgaps_engine.data.datasets import ShardDataset
    from forestgaps_engine.data.records import load_manifest, split_shards
    from forestgaps_engine.models import create
    from forestgaps_engine.models.normalization import Normalizer
    from forestgaps_engine.training import distributed
    from forestgaps_engine.training.augmentation import DsmAugmenter
    from forestgaps_engine.training.callbacks.factory import default_callbacks
    from forestgaps_engine.training.callbacks.mlflow_logger import MlflowLogger
    from forestgaps_engine.training.memory_cache import CachedShardDataset, should_cache
    from forestgaps_engine.training.state import (
        check_resumable,
        load_checkpoint,
        seed_everything,
    )
    from forestgaps_engine.training.trainer import Trainer, resolve_device
    from forestgaps_engine.training.transfer_benchmark import log_transfer_benchmark

    started_s = time.perf_counter()
    training = config.training
    prepared = Path(prepared_dir or config.data.output_dir)
    manifest = load_manifest(prepared)
    facts = dataset_facts(manifest, config)
    normalization = prepared_file(prepared, NORMALIZATION_NAME).read_text("utf-8")
    normalizer = Normalizer.from_prepared(json.loads(normalization))
    device = resolve_device(training.device)
    context = distributed.init_from_env(device.type)
    if device.type == "cuda" and context.is_distributed:
        device = torch.device("cuda", context.local_rank)

    train_paths, train_counts = split_shards(prepared, "train")
    if not train_paths:
        raise DataError(
            f"{prepared}: the train split holds no shard",
            hint="Give data.split.train a share of the sites and run 'forestgaps prepare' again.",
        )
    val_paths, val_counts = split_shards(prepared, "val")
    in_memory = should_cache(training.cache_in_memory, [*train_paths, *val_paths])
    dataset_class = CachedShardDataset if in_memory else ShardDataset
    logger.info(
        "tile cache: %s (training.cache_in_memory=%s)",
        "in memory" if in_memory else "read from disk each epoch",
        training.cache_in_memory,
    )

    def dataset(paths: list[Path], counts: list[int], shuffle: bool) -> ShardDataset:
        return dataset_class(
            paths,
            facts["thresholds_m"],
            shuffle_buffer_size=SHUFFLE_BUFFER_SAMPLES if shuffle else 0,
            seed=training.seed,
            shard_counts=counts,
            batch_size=training.batch_size,
        )

    train_set = dataset(train_paths, train_counts, shuffle=True)
    setting = loader_setting(training, train_set, facts["tile_size_px"], device, context)
    loader_kwargs = {"batch_size": training.batch_size, **setting.loader_kwargs()}
    train_loader = DataLoader(train_set, **loader_kwargs)
    val_set = dataset(val_paths, val_counts, shuffle=False) if val_paths else None
    val_loader = DataLoader(val_set, **loader_kwargs) if val_set is not None else None
    if context.is_main_process:
        log_transfer_benchmark(
            (training.batch_size, 1, facts["tile_size_px"], facts["tile_size_px"]), device
        )
    seed_everything(training.seed)  # before the model: initial weights repeat run to run
    model = create(config.model.name, **config.model.params)
    # Batches carry each tile's cell size; this is the size of tiles that record none.
    model.set_cell_size_m(float(facts["resolution_m"]))
    if config.model.params.get("fixed_height_unit") and hasattr(model, "calibrate_height_unit"):
        # The relief margin then reads true metres: the normaliser's scale, not a guess.
        _offset, metres_per_unit = normalizer.frame(torch.zeros(1, 1, 1, 1))
        model.calibrate_height_unit(float(metres_per_unit))
    output_dir = Path(training.output_dir)
    callbacks, checkpoint = default_callbacks(
        config, output_dir, has_validation=val_loader is not None
    )
    augmenter = (
        DsmAugmenter(training.augmentation, facts["resolution_m"])
        if training.augmentation.enabled
        else None
    )
    trainer = Trainer(
        model,
        normalizer,
        training,
        callbacks,
        device,
        augmenter,
        context,
        progress,
        cancel,
        probe_tile_size_px=facts["tile_size_px"],
    )
    if resume:
        resume_state = load_checkpoint(checkpoint.last_path)
        check_resumable(resume_state, trainer.module, checkpoint.last_path)
        trainer.load_state_dict(resume_state)
        logger.info(
            "resuming from %s (epoch %d, step %d)",
            checkpoint.last_path,
            trainer.epoch + 1,
            trainer.global_step,
        )
    elif checkpoint.last_path.is_file():
        logger.warning(
            "%s exists and will be replaced; pass --resume to continue that run",
            checkpoint.last_path,
        )
    # The MLflow run outlives fit() so the saved model folder can be attached to it.
    trackers = [c for c in callbacks if isinstance(c, MlflowLogger)]
    try:
        history = trainer.fit(train_loader, val_loader)
        model_dir, metrics = None, {}
        if trainer.is_main_process:
            model_dir, metrics = _save_model(trainer, normalizer, checkpoint, facts, output_dir)
    except BaseException:
        for tracker in trackers:
            tracker.finish(None, status="FAILED")
        raise
    for tracker in trackers:
        tracker.finish(model_dir)
    distributed.barrier(context)
    distributed.shutdown(context)
    return TrainResult(
        model_dir=model_dir,
        checkpoint_dir=checkpoint.directory,
        history=history,
        metrics=metrics,
        epochs_run=len(history),
        duration_s=time.perf_counter() - started_s,
    )


def _save_model(
    trainer: Trainer,
    normalizer: nn.Module,
    checkpoint: ModelCheckpoint,
    facts: dict[str, Any],
    output_dir: Path,
) -> tuple[Path, dict[str, float]]:
    """Write the best epoch's weights (last if none was best) with their model card."""
    from forestgaps_engine.training.state import load_checkpoint

    history = trainer.history
    if not history:
        raise TrainingError("no epoch was completed, so there is no model to save")
    epoch = checkpoint.best_epoch if checkpoint.best_epoch is not None else len(history) - 1
    if checkpoint.best_path.is_file() and checkpoint.best_epoch is not None:
        trainer.module.load_state_dict(load_checkpoint(checkpoint.best_path)["model"])
    metrics = {k: float(v) for k, v in history[min(epoch, len(history) - 1)].items()}
    thresholds_m = facts["thresholds_m"]
    card = ModelCard(
        thresholds_m=thresholds_m,
        threshold_range_m=(min(thresholds_m), max(thresholds_m)),
        resolution_m=facts["resolution_m"],
        native_resolutions_m=facts.get("native_resolutions_m"),
        tile_size_px=facts["tile_size_px"],
        data_manifest_hash=facts["content_hash"],
        metrics=metrics,
        model_version=MODEL_VERSION,
        training_precision=trainer.precision.name,
        data_sources=facts.get("data_sources"),
    )
    model_dir = save_model(trainer.module.cpu(), normalizer.cpu(), card, output_dir / "model")
    return model_dir, metrics
