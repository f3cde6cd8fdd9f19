"""Run a tiny training in a subprocess (resume and DDP tests); optionally SIGKILL itself.

Usage: python tests/training/tiny_run.py OUT_DIR [--kill-after-step K] [--resume] [--epochs N]
Under torchrun each rank trains on its own slice and writes final_rank<R>.pt.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from forestgaps_engine.config.training import TrainingConfig  # noqa: E402
from forestgaps_engine.training import distributed  # noqa: E402
from forestgaps_engine.training.augmentation import DsmAugmenter  # noqa: E402
from forestgaps_engine.training.callbacks.base import Callback  # noqa: E402
from forestgaps_engine.training.callbacks.checkpoint import ModelCheckpoint  # noqa: E402
from forestgaps_engine.training.callbacks.early_stopping import EarlyStopping  # noqa: E402
from forestgaps_engine.training.state import load_checkpoint, seed_everything  # noqa: E402
from forestgaps_engine.training.trainer import Trainer  # noqa: E402
from tests.training.tiny import RandomGapDataset, ScaleNormalizer, TinyModel  # noqa: E402


class KillAfterStep(Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_batch_begin(self, trainer: Trainer, batch_index: int) -> None:
        if trainer.global_step >= self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--kill-after-step", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    out_dir = Path(args.out_dir)
    torch.set_num_threads(1)
    context = distributed.init_from_env("cpu")
    config = TrainingConfig(
        epochs=args.epochs,
        batch_size=4,
        amp="off",
        device="cpu",
        accumulation_steps=2,
        checkpoint_every_steps=3,
        scheduler={"name": "onecycle"},
        loss={"bce_weight": 0.5, "dice_weight": 0.5},
    )
    train_set = RandomGapDataset(32, 16, seed=1, rank=context.rank, world_size=context.world_size)
    val_set = RandomGapDataset(8, 16, seed=2, rank=context.rank, world_size=context.world_size)
    seed_everything(config.seed)  # before the model: its initial weights must repeat
    model = TinyModel()
    callbacks: list[Callback] = [EarlyStopping(patience_epochs=100)]
    if args.kill_after_step:
        callbacks.append(KillAfterStep(args.kill_after_step))
    checkpoint = ModelCheckpoint(out_dir / "checkpoints", every_steps=config.checkpoint_every_steps)
    callbacks.append(checkpoint)
    trainer = Trainer(
        model,
        ScaleNormalizer(),
        config,
        callbacks,
        torch.device("cpu"),
        augmenter=DsmAugmenter(config.augmentation),
        context=context,
    )
    if args.resume:
        trainer.load_state_dict(load_checkpoint(checkpoint.last_path))
    trainer.fit(DataLoader(train_set, batch_size=4), DataLoader(val_set, batch_size=4))
    torch.save(trainer.module.state_dict(), out_dir / f"final_rank{context.rank}.pt")
    distributed.shutdown(context)


if __name__ == "__main__":
    main()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # Same as `forestgaps train` under torchrun: skip the interpreter teardown in which
        # gloo's threads intermittently abort a rank after its outputs are written.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
