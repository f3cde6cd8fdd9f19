"""The multi-process command of docs/training.md: torchrun ... -m forestgaps_engine.cli.main train."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.training.prepared import write_prepared

REPO = Path(__file__).resolve().parents[2]


def _torchrun() -> list[str]:
    script = Path(sys.executable).parent / "torchrun"
    if script.is_file():
        return [str(script)]
    found = shutil.which("torchrun")
    return [found] if found else [sys.executable, "-m", "torch.distributed.run"]


@pytest.mark.slow
def test_cli_train_under_torchrun_with_two_cpu_processes(tmp_path: Path):
    prepared = write_prepared(tmp_path / "prepared", n_train=16, n_val=8)
    run = tmp_path / "run"
    settings = [
        "gaps.thresholds_m=[2, 5]",
        "model.name=unet_film",
        "model.params={base_channels: 4, depth: 2}",
        "training.epochs=1",
        "training.batch_size=4",
        "training.amp=off",
        "training.device=cpu",
        "training.num_workers=0",
        "training.monitoring.tensorboard=false",
        f"training.output_dir={run}",
    ]
    command = [
        *_torchrun(),
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "forestgaps_engine.cli.main",
        "train",
        "--prepared",
        str(prepared),
        *[item for setting in settings for item in ("--set", setting)],
    ]
    done = subprocess.run(
        command,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rank 1/2 joined the gloo process group" in done.stderr
    summary = json.loads(done.stdout[done.stdout.index("{") :])  # rank 0 alone prints it
    assert summary["epochs_run"] == 1
    assert (run / "model" / "model_card.json").is_file()
    # 16 train samples over 2 ranks at batch 4: 2 optimizer steps per rank and epoch
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["global_step"] == 2
