"""Does the input pipeline keep up with the model? Loader vs training-step throughput, as JSON.

1. Writes tar shards of random 256 x 256 tiles (three threshold masks each), builds the
   training dataset exactly as ``train()`` does (in-memory cache when it fits, then
   ``loader_setting``, the calibration ``num_workers=auto`` runs, with a fresh cache).
2. Measures the calibrated loader's samples/s over whole passes.
3. Measures the samples/s of full training steps (augmentation, normalisation, forward,
   loss, backward, AdamW) of the default model (``ModelConfig()``) at the same batch size.
4. Reports ``loader_over_step`` = loader / step throughput (aim: >= 3).

Usage: .venv/bin/python benchmarks/dataloader.py [--size 256] [--batch-size 16]
       [--samples 256] [--steps 3] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from forestgaps_engine.config.model import ModelConfig
from forestgaps_engine.config.training import TrainingConfig
from forestgaps_engine.data.datasets import ShardDataset
from forestgaps_engine.data.shards import ShardWriter, TileSample
from forestgaps_engine.models import create
from forestgaps_engine.models.normalization import Normalizer
from forestgaps_engine.training.api import loader_setting
from forestgaps_engine.training.augmentation import DsmAugmenter
from forestgaps_engine.training.callbacks.base import Callback
from forestgaps_engine.training.distributed import DistributedContext
from forestgaps_engine.training.memory_cache import CachedShardDataset, should_cache
from forestgaps_engine.training.trainer import Trainer, resolve_device

THRESHOLDS_M = (2.0, 5.0, 10.0)


class StepTimer(Callback):
    """Time stamps at each batch end (step time = difference of consecutive stamps)."""

    def __init__(self) -> None:
        self.marks_s: list[float] = []

    def on_batch_end(self, trainer: Trainer, batch_index: int, logs: dict) -> None:
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        self.marks_s.append(time.perf_counter())


def write_shards(root: Path, n_samples: int, size_px: int) -> list[Path]:
    rng = np.random.default_rng(0)
    with ShardWriter(root, "train", samples_per_shard=64) as writer:
        for index in range(n_samples):
            coarse = rng.uniform(0, 30, (size_px // 8, size_px // 8))
            chm_m = coarse.repeat(8, 0).repeat(8, 1).astype(np.float32)
            masks = {t: (chm_m <= t).astype(np.uint8) for t in THRESHOLDS_M}
            valid = np.ones((size_px, size_px), bool)
            writer.write(TileSample(f"tile_{index:05d}", 300 + chm_m, valid, masks))
    return [info.path for info in writer.shards]


def loader_throughput(loader: DataLoader, passes: int) -> float:
    started_s = time.perf_counter()
    seen = sum(int(batch["dsm"].shape[0]) for _ in range(passes) for batch in loader)
    return seen / (time.perf_counter() - started_s)


def step_throughput(
    config: TrainingConfig, device: torch.device, size_px: int, steps: int
) -> tuple[float, str]:
    model_config = ModelConfig()
    torch.manual_seed(0)
    model = create(model_config.name, **model_config.params)
    timer = StepTimer()
    trainer = Trainer(
        model,
        Normalizer("robust_percentile", {"relief_range_m": 30.0}),
        config,
        [timer],
        device,
        augmenter=DsmAugmenter(config.augmentation),
        probe_tile_size_px=size_px,
    )
    generator = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(steps + 1):  # the first step warms up (allocation, kernel choice)
        dsm = 300 + torch.rand(config.batch_size, 1, size_px, size_px, generator=generator) * 30
        threshold_m = torch.tensor([THRESHOLDS_M[i % 3] for i in range(config.batch_size)])
        batches.append(
            {
                "dsm": dsm,
                "valid": torch.ones_like(dsm),
                "threshold_m": threshold_m,
                "mask": (dsm - 300 <= threshold_m.view(-1, 1, 1, 1)).float(),
            }
        )
    trainer.fit(batches)
    step_s = float(np.median(np.diff(timer.marks_s)))
    return config.batch_size / step_s, trainer.precision.reason


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=TrainingConfig().batch_size)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    config = TrainingConfig(
        epochs=1, batch_size=args.batch_size, device=args.device, scheduler={"name": "constant"}
    )
    device = resolve_device(config.device)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["FORESTGAPS_CACHE_DIR"] = str(Path(folder) / "cache")  # measure afresh
        paths = write_shards(Path(folder), args.samples, args.size)
        in_memory = should_cache(config.cache_in_memory, paths)
        dataset_class = CachedShardDataset if in_memory else ShardDataset
        dataset = dataset_class(
            paths, THRESHOLDS_M, shuffle_buffer_size=256, batch_size=args.batch_size
        )
        calibrate_started_s = time.perf_counter()
        setting = loader_setting(config, dataset, args.size, device, DistributedContext())
        calibration_s = time.perf_counter() - calibrate_started_s
        loader = DataLoader(dataset, batch_size=args.batch_size, **setting.loader_kwargs())
        loader_rate = loader_throughput(loader, args.passes)
    step_rate, precision = step_throughput(config, device, args.size, args.steps)
    report = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "device": str(device),
        },
        "model": ModelConfig().name,
        "tile_size_px": args.size,
        "batch_size": args.batch_size,
        "in_memory_cache": in_memory,
        "loader_setting": setting.loader_kwargs(),
        "calibration_s": round(calibration_s, 1),
        "loader_samples_per_s": round(loader_rate, 1),
        "step_samples_per_s": round(step_rate, 2),
        "step_precision": precision,
        "loader_over_step": round(loader_rate / step_rate, 2),
    }
    print(json.dumps(report, indent=2))  # noqa: T201 - a benchmark prints its JSON


if __name__ == "__main__":
    main()
