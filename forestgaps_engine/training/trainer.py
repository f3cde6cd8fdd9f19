"""The training loop: precision, accumulation, clipping, validation, exact resume, callbacks.

Models know nothing of losses or metrics: the trainer normalises the DSM, calls
``model(dsm, threshold_m)`` for logits, and scores them with :mod:`training.losses` and
:mod:`evaluation.metrics`. Everything that makes a run reproducible (weights, optimizer,
schedule, scaler, RNG states, epoch, step and data position) goes through
:meth:`Trainer.state_dict`, so a resumed run continues bit for bit where the last
checkpoint left it.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import nullcontext
from itertools import islice
from typing import Any

import torch
from torch import nn

from forestgaps_engine.config.training import TrainingConfig
from forestgaps_engine.data.fill import fill_nodata_nearest_torch
from forestgaps_engine.errors import OutOfMemoryError, TrainingError
from forestgaps_engine.metrics.pixel import ConfusionCounts
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter
from forestgaps_engine.training import distributed
from forestgaps_engine.training.batchnorm import batchnorm_layers, recalibrate_batchnorm
from forestgaps_engine.training.callbacks.base import Callback, CallbackList
from forestgaps_engine.training.losses import CombinedLoss
from forestgaps_engine.training.optim import build_optimizer
from forestgaps_engine.training.precision import precision_named, resolve_precision
from forestgaps_engine.training.schedulers import LrSchedule
from forestgaps_engine.training.state import capture_rng_state, restore_rng_state, seed_everything
from forestgaps_engine.training.validation import count_batches, run_validation

logger = logging.getLogger(__name__)

BATCH_KEYS = ("dsm", "valid", "mask", "threshold_m")


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda, then mps, then cpu; a named device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainingError(
            "training.device = 'cuda' but no CUDA device is visible",
            hint="Set training.device=auto or cpu, or check the GPU driver.",
        )
    return torch.device(name)


class Trainer:
    """Fits a segmentation model on batches of ``{dsm, valid, mask, threshold_m}``.

    Args:
        model: ``forward(dsm (B,1,H,W) normalised, threshold_m (B,) metres) -> logits``.
        normalizer: ``forward(dsm (B,1,H,W) metres, valid) -> normalised dsm``.
        config: the training section.
        callbacks: hooks called in order (checkpoint, early stop, monitoring...).
        device: where to train; None resolves ``config.device``.
        augmenter: ``batch dict -> batch dict`` applied on the device to training batches.
        context: distributed position (single process by default).
        progress: ``(fraction, message)`` callback; cancel: returns True to stop.
        probe_tile_size_px: tile side of the CPU bf16 probe (``amp=auto`` on CPU only).
    """

    def __init__(
        self,
        model: nn.Module,
        normalizer: nn.Module,
        config: TrainingConfig,
        callbacks: Iterable[Callback] = (),
        device: torch.device | None = None,
        augmenter: nn.Module | None = None,
        context: distributed.DistributedContext | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelCallback | None = None,
        probe_tile_size_px: int = 96,
    ) -> None:
        self.config = config
        self.context = context or distributed.DistributedContext()
        self.device = device or resolve_device(config.device)
        seed_everything(config.seed)
        if config.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
        self.module = model.to(self.device)
        self.model = distributed.wrap_model(self.module, self.context, self.device)
        self.normalizer = normalizer.to(self.device)
        self.augmenter = augmenter.to(self.device) if augmenter is not None else None
        self.loss_fn = CombinedLoss(config.loss).to(self.device)
        self.optimizer = build_optimizer(self.module, config.optimizer)
        self.precision = resolve_precision(config.amp, self.device, self.module, probe_tile_size_px)
        logger.info("precision: %s", self.precision.reason)
        self.scaler = self.precision.grad_scaler(self.device)
        self.callbacks = CallbackList(callbacks)
        self.reporter = Reporter(progress, cancel)
        self.schedule: LrSchedule | None = None
        self.steps_per_epoch = 0
        self.batches_per_epoch = 0
        self.epoch = 0
        self.global_step = 0  # optimizer steps done
        self.next_batch = 0  # micro-batches of ``epoch`` already consumed
        self.samples_in_epoch = 0  # samples of ``epoch`` already consumed (this rank)
        self.should_stop = False
        self.last_batch: dict[str, torch.Tensor] | None = None
        self.last_logits: torch.Tensor | None = None
        self.last_val_counts: dict[float, ConfusionCounts] = {}
        self.last_val_batch: dict[str, torch.Tensor] | None = None
        self.last_val_logits: torch.Tensor | None = None
        self.history: list[dict[str, float]] = []
        self._resume_state: dict[str, Any] | None = None

    @property
    def is_main_process(self) -> bool:
        """Only rank 0 writes files and logs progress."""
        return self.context.is_main_process

    def to_device(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The four batch tensors on the device: bool valid, float mask, (B,) threshold_m."""
        missing = [key for key in BATCH_KEYS if key not in batch]
        if missing:
            raise TrainingError(
                f"a training batch lacks {missing} (has {sorted(batch)})",
                hint="Use forestgaps_engine.data.datasets.ShardDataset or yield the same keys.",
            )
        moved = {k: batch[k].to(self.device, non_blocking=True) for k in BATCH_KEYS}
        moved["valid"] = moved["valid"].to(torch.bool)
        moved["mask"] = moved["mask"].float()
        moved["threshold_m"] = moved["threshold_m"].float().view(-1)
        moved["dsm"] = torch.nan_to_num(moved["dsm"].float())
        if "cell_size_m" in batch:
            # Stays on the host: it sizes pools, it is not a tensor input.
            moved["cell_size_m"] = batch["cell_size_m"].double().view(-1).cpu()
        if "terrain_prior" in batch:
            prior = batch["terrain_prior"].to(self.device, non_blocking=True).float()
            moved["terrain_prior"] = torch.nan_to_num(prior)
        elif getattr(self.module, "uses_terrain_prior", False):
            raise TrainingError(
                f"{self.module.name} takes a terrain prior (model.params.terrain_prior: true) "
                "but the training tiles have none",
                hint="Set data.terrain_prior.enabled: true and run 'forestgaps prepare' again, "
                "or set model.params.terrain_prior: false.",
            )
        return moved

    def forward(
        self, batch: Mapping[str, torch.Tensor], model: nn.Module | None = None
    ) -> torch.Tensor:
        """Logits (B, 1, H, W) for a device batch, under the run's autocast.

        ``model`` replaces the (possibly distributed) training model, e.g. the bare module.
        """
        model = self.model if model is None else model
        if getattr(self.module, "uses_cell_size", False) and "cell_size_m" in batch:
            self.module.set_cell_size_m(batch["cell_size_m"].tolist())
        # Nodata is filled for the model as ``predict`` fills it; the loss keeps ``valid``.
        dsm, model_valid = fill_nodata_nearest_torch(batch["dsm"], batch["valid"])
        with self.precision.autocast(self.device):
            if getattr(self.module, "uses_terrain_prior", False):
                # The prior is put in the DSM tile's frame (same offset and scale).
                dsm = self.normalizer.with_prior(dsm, model_valid, batch["terrain_prior"])
            else:
                dsm = self.normalizer(dsm, model_valid)
            return model(torch.nan_to_num(dsm), batch["threshold_m"])

    def recalibrate_batchnorm(self, loader: Iterable) -> int:
        """Recompute BatchNorm statistics over the epoch's first training batches.

        The same batches whether or not the epoch was resumed (the data position and the
        RNG are restored afterwards), so a resumed run stays exact. No augmentation: the
        statistics are for validation and prediction, which see raw tiles.

        Returns:
            The number of batches used (0: no BatchNorm layer or recalibration off).
        """
        wanted = min(self.config.bn_recalibration_batches, self.batches_per_epoch)
        if wanted <= 0 or not batchnorm_layers(self.module):
            return 0
        dataset = getattr(loader, "dataset", loader)
        position = dataset.state_dict() if hasattr(dataset, "state_dict") else None
        if position is not None:
            dataset.load_state_dict({**position, "samples_consumed": 0})
        rng = capture_rng_state()
        try:
            batches = (self.to_device(raw) for raw in loader)
            count = recalibrate_batchnorm(
                self.module, batches, lambda batch: self.forward(batch, self.module), wanted
            )
        finally:
            restore_rng_state(rng)
            if position is not None:
                dataset.load_state_dict(position)
        logger.debug("batch norm statistics recomputed over %d training batches", count)
        return count

    def state_dict(self) -> dict[str, Any]:
        """Everything an exact resume needs, as plain tensors and dicts."""
        return {
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict() if self.schedule else None,
            "scaler": self.scaler.state_dict(),
            "rng": capture_rng_state(),
            "epoch": self.epoch,
            "next_batch": self.next_batch,
            "samples_in_epoch": self.samples_in_epoch,
            "global_step": self.global_step,
            "callbacks": self.callbacks.state_dict(),
            "history": self.history,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a checkpoint; the RNG is restored when the data position is reached.

        The precision the checkpoint records is kept (``amp=auto`` may choose otherwise
        today), so a run never switches precision partway through.
        """
        recorded = state.get("precision")
        if recorded is not None and recorded != self.precision.name:
            self.precision = precision_named(str(recorded), self.device)
            self.scaler = self.precision.grad_scaler(self.device)
            logger.info("precision: %s", self.precision.reason)
        self.module.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.callbacks.load_state_dict(state["callbacks"])
        self.epoch = int(state["epoch"])
        self.next_batch = int(state["next_batch"])
        self.samples_in_epoch = int(state["samples_in_epoch"])
        self.global_step = int(state["global_step"])
        self.history = list(state["history"])
        self._resume_state = dict(state)

    def fit(
        self, train_loader: Iterable, val_loader: Iterable | None = None
    ) -> list[dict[str, float]]:
        """Train until ``config.epochs`` or an early stop; returns one log dict per epoch."""
        config = self.config
        self.batches_per_epoch = count_batches(train_loader, config.max_steps_per_epoch)
        self.steps_per_epoch = math.ceil(self.batches_per_epoch / config.accumulation_steps)
        self.schedule = LrSchedule(
            self.optimizer,
            config.scheduler,
            config.epochs,
            self.steps_per_epoch,
            config.monitor_mode,
        )
        if self._resume_state is not None and self._resume_state["schedule"] is not None:
            self.schedule.load_state_dict(self._resume_state["schedule"])
        self.callbacks.on_train_begin(self)
        while self.epoch < config.epochs and not self.should_stop:
            logs = self._train_epoch(train_loader)
            self.recalibrate_batchnorm(train_loader)
            if val_loader is not None:
                self.callbacks.on_validation_begin(self, self.epoch)
                val_logs = run_validation(self, val_loader)
                self.callbacks.on_validation_end(self, self.epoch, val_logs)
                logs.update(val_logs)
            self.schedule.step_epoch(logs.get(config.monitor_metric))
            logs["epoch"] = float(self.epoch)
            self.history.append(logs)
            finished_epoch = self.epoch
            self.epoch += 1
            self.next_batch = 0
            self.samples_in_epoch = 0
            self.callbacks.on_epoch_end(self, finished_epoch, logs)
        self.callbacks.on_train_end(self)
        return self.history

    def _epoch_iterator(self, loader: Iterable) -> Iterator:
        dataset = getattr(loader, "dataset", loader)
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(self.epoch)
        if self.next_batch == 0:
            self.samples_in_epoch = 0
        resume, self._resume_state = self._resume_state, None
        if resume is not None and self.next_batch == 0:
            restore_rng_state(resume["rng"])
        if self.next_batch > 0 and hasattr(dataset, "load_state_dict"):
            # The dataset skips what was consumed without decoding it.
            dataset.load_state_dict(
                {"epoch": self.epoch, "samples_consumed": self.samples_in_epoch}
            )
            iterator = iter(loader)
        else:
            iterator = iter(loader)
            for _ in range(self.next_batch):  # replay the position by reading (seeded data)
                next(iterator)
        if resume is not None and self.next_batch > 0:
            # After the iterator drew its own seed, as the uninterrupted run had.
            restore_rng_state(resume["rng"])
        return iterator

    def _train_epoch(self, loader: Iterable) -> dict[str, float]:
        config = self.config
        self.model.train()
        self.callbacks.on_epoch_begin(self, self.epoch)
        iterator = self._epoch_iterator(loader)
        dataset = getattr(loader, "dataset", loader)
        loss_sum, loss_count = 0.0, 0
        for raw_batch in islice(iterator, max(self.batches_per_epoch - self.next_batch, 0)):
            self.reporter.check()
            batch_index = self.next_batch
            self.callbacks.on_batch_begin(self, batch_index)
            is_step = (batch_index + 1) % config.accumulation_steps == 0 or (
                batch_index + 1 == self.batches_per_epoch
            )
            logs = self._train_batch(raw_batch, is_step)
            self.next_batch += 1
            self.samples_in_epoch += int(raw_batch["dsm"].shape[0])
            if hasattr(dataset, "record_consumed"):
                dataset.record_consumed(int(raw_batch["dsm"].shape[0]))
            loss_sum, loss_count = loss_sum + logs["loss"], loss_count + 1
            done = self.epoch * self.batches_per_epoch + self.next_batch
            self.reporter.report(
                done / (config.epochs * self.batches_per_epoch),
                f"epoch {self.epoch + 1}/{config.epochs} loss {logs['loss']:.4f}",
            )
            self.callbacks.on_batch_end(self, batch_index, logs)
        return {"loss": loss_sum / max(loss_count, 1)}

    def _correction_penalty(self) -> torch.Tensor | float:
        """``loss.correction_l1_weight`` times the mean relief shift of the last forward, metres."""
        weight = self.config.loss.correction_l1_weight
        shift_m = getattr(self.module, "last_correction_m", None)
        if weight <= 0 or shift_m is None:
            return 0.0
        return weight * shift_m.float().abs().mean()

    def _train_batch(
        self, raw_batch: Mapping[str, torch.Tensor], is_step: bool
    ) -> dict[str, float]:
        started_s = time.perf_counter()
        try:
            batch = self.to_device(raw_batch)
            if self.augmenter is not None:
                batch = self.augmenter(batch)
            sync = is_step or not self.context.is_distributed
            with self.model.no_sync() if not sync else nullcontext():
                logits = self.forward(batch)
                loss = self.loss_fn(logits, batch["mask"], batch["valid"], batch["threshold_m"])
                loss = loss + self._correction_penalty()
                loss_value = float(loss.detach())
                if not math.isfinite(loss_value):
                    raise TrainingError(
                        f"loss became {loss_value} at epoch {self.epoch + 1}, batch "
                        f"{self.next_batch + 1} (optimizer step {self.global_step + 1})",
                        hint="Lower training.optimizer.lr or check the inputs for extreme values; "
                        "the last good checkpoint (last.pt) is kept.",
                    )
                self.scaler.scale(loss / self.config.accumulation_steps).backward()
            logs = {"loss": loss_value, "is_optimizer_step": float(is_step)}
            if is_step:
                self.scaler.unscale_(self.optimizer)
                grad_norm = torch.nn.utils.clip_grad_norm_(
                    self.module.parameters(), self.config.grad_clip_norm
                )
                self.scaler.step(self.optimizer)
                self.scaler.update()
                self.optimizer.zero_grad(set_to_none=True)
                self.global_step += 1
                self.schedule.step_batch()
                logs["grad_norm"] = float(grad_norm)
                logs["lr"] = self.schedule.current_lrs()[0]
        except torch.cuda.OutOfMemoryError as error:
            raise OutOfMemoryError(
                f"{self.device} ran out of memory at batch size {self.config.batch_size} "
                f"(epoch {self.epoch + 1}, batch {self.next_batch + 1})",
                hint=f"Lower training.batch_size (e.g. --set training.batch_size="
                f"{max(1, self.config.batch_size // 2)}) and raise training.accumulation_steps.",
            ) from error
        self.last_batch = batch
        self.last_logits = logits.detach()
        logs["samples"] = float(batch["dsm"].shape[0] * self.context.world_size)
        logs["batch_time_s"] = time.perf_counter() - started_s
        return logs
