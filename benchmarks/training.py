"""Training throughput on this machine, printed as JSON.

1. Step throughput per registered architecture: samples/s of full training steps
   (augmentation, normalisation, forward, masked loss, backward, clipping, AdamW) on
   random 256 x 256 tiles, after one warm-up step, fp32 on CPU (or the default device).
2. Data throughput: samples/s a DataLoader over tar shards (ShardDataset) delivers,
   with 0 and 2 workers, compared with what the slowest and fastest steps consume.

Usage: .venv/bin/python benchmarks/training.py [--size 256] [--batch-size 4] [--steps 3]
       [--models unet_film,mobile_unet] [--params '{"base_channels": 16}']
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from forestgaps_engine.config.training import TrainingConfig
from forestgaps_engine.data.datasets import ShardDataset
from forestgaps_engine.data.shards import ShardWriter, TileSample
from forestgaps_engine.models import available_models, create
from forestgaps_engine.models.normalization import Normalizer
from forestgaps_engine.training.augmentation import DsmAugmenter
from forestgaps_engine.training.callbacks.base import Callback
from forestgaps_engine.training.trainer import Trainer

THRESHOLDS_M = (2.0, 5.0, 10.0)


class StepTimer(Callback):
    """Wall time of each batch, from one batch end to the next (data included)."""

    def __init__(self) -> None:
        self.marks_s: list[float] = []

    def on_batch_end(self, trainer: Trainer, batch_index: int, logs: dict) -> None:
        self.marks_s.append(time.perf_counter())


def random_batches(n_batches: int, batch_size: int, size_px: int) -> list[dict]:
    generator = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(n_batches):
        dsm = 300 + torch.rand(batch_size, 1, size_px, size_px, generator=generator) * 30
        threshold_m = torch.tensor([THRESHOLDS_M[i % 3] for i in range(batch_size)])
        batches.append(
            {
                "dsm": dsm,
                "valid": torch.ones_like(dsm),
                "threshold_m": threshold_m,
                "mask": (dsm - 300 <= threshold_m.view(-1, 1, 1, 1)).float(),
            }
        )
    return batches


def step_throughput(name: str, params: dict, args: argparse.Namespace) -> dict:
    config = TrainingConfig(
        epochs=1,
        batch_size=args.batch_size,
        amp="off",
        device=args.device,
        scheduler={"name": "constant"},
    )
    torch.manual_seed(0)
    model = create(name, **params)
    timer = StepTimer()
    trainer = Trainer(
        model,
        Normalizer("robust_percentile", {"relief_range_m": 30.0}),
        config,
        [timer],
        augmenter=DsmAugmenter(config.augmentation),
    )
    trainer.fit(random_batches(args.steps + 1, args.batch_size, args.size))
    durations_s = np.diff(timer.marks_s)
    n_parameters = sum(p.numel() for p in model.parameters())
    return {
        "model": name,
        "params": params,
        "parameters": n_parameters,
        "step_s_median": round(float(np.median(durations_s)), 4),
        "samples_per_s": round(args.batch_size / float(np.median(durations_s)), 2),
    }


def loader_throughput(args: argparse.Namespace, workers: int, root: Path, n_samples: int) -> dict:
    paths = sorted((root / "train").glob("*.tar"))
    dataset = ShardDataset(paths, THRESHOLDS_M, shuffle_buffer_size=64, batch_size=args.batch_size)
    loader = DataLoader(dataset, batch_size=args.batch_size, num_workers=workers)
    started_s = time.perf_counter()
    seen = sum(int(batch["dsm"].shape[0]) for batch in loader)
    duration_s = time.perf_counter() - started_s
    return {"num_workers": workers, "samples": seen, "samples_per_s": round(seen / duration_s, 1)}


def write_shards(root: Path, n_samples: int, size_px: int) -> None:
    rng = np.random.default_rng(0)
    with ShardWriter(root, "train", samples_per_shard=32) as writer:
        for index in range(n_samples):
            chm_m = rng.uniform(0, 30, (size_px, size_px)).astype(np.float32)
            masks = {t: (chm_m <= t).astype(np.uint8) for t in THRESHOLDS_M}
            valid = np.ones((size_px, size_px), bool)
            writer.write(TileSample(f"tile_{index:05d}", 300 + chm_m, valid, masks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", default=",".join(available_models()))
    parser.add_argument("--params", default="{}", help="JSON params given to every model")
    parser.add_argument("--loader-samples", type=int, default=128)
    args = parser.parse_args()
    params = json.loads(args.params)
    models = [step_throughput(name, params, args) for name in args.models.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        write_shards(Path(folder), args.loader_samples, args.size)
        loaders = [loader_throughput(args, w, Path(folder), args.loader_samples) for w in (0, 2)]
    consumed = [m["samples_per_s"] for m in models]
    report = {
        "machine": {
            "platform": platform.platform(),
            "cpu_threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
        "tile_size_px": args.size,
        "batch_size": args.batch_size,
        "timed_steps": args.steps,
        "models": models,
        "data_loader": loaders,
        "loader_over_fastest_step": round(
            max(item["samples_per_s"] for item in loaders) / max(consumed), 2
        ),
        "loader_over_slowest_step": round(
            max(item["samples_per_s"] for item in loaders) / min(consumed), 2
        ),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
