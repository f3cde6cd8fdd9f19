"""The multi-process command of docs/training.md: torchrun ... -m forestgaps_engine.cli.main train."""

import json
import shutil
import socket
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


def _train_args(prepared: Path, run: Path) -> list[str]:
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
    return [
        "-m",
        "forestgaps_engine.cli.main",
        "train",
        "--prepared",
        str(prepared),
        *[item for setting in settings for item in ("--set", setting)],
    ]


def _env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OMP_NUM_THREADS": "1"}


@pytest.mark.slow
def test_cli_train_under_torchrun_with_two_cpu_processes(tmp_path: Path):
    prepared = write_prepared(tmp_path / "prepared", n_train=16, n_val=8)
    run = tmp_path / "run"
    command = [*_torchrun(), "--standalone", "--nproc_per_node=2", *_train_args(prepared, run)]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=300, env=_env(tmp_path)
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rank 1/2 joined the gloo process group" in done.stderr
    summary = json.loads(done.stdout[done.stdout.index("{") :])  # rank 0 alone prints it
    assert summary["epochs_run"] == 1
    assert (run / "model" / "model_card.json").is_file()
    # 16 train samples over 2 ranks at batch 4: 2 optimizer steps per rank and epoch
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["global_step"] == 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_cli_train_as_two_nodes_meeting_at_a_rendezvous(tmp_path: Path):
    """The multi-node form: one torchrun per node, same --rdzv_* flags (here both local)."""
    prepared = write_prepared(tmp_path / "prepared", n_train=16, n_val=8)
    run = tmp_path / "run"
    endpoint = f"127.0.0.1:{_free_port()}"
    nodes = [
        subprocess.Popen(
            [
                *_torchrun(),
                "--nnodes=2",
                "--nproc_per_node=1",
                "--rdzv_backend=c10d",
                f"--rdzv_endpoint={endpoint}",
                "--rdzv_id=forestgaps_test",
                *_train_args(prepared, run),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(tmp_path),
        )
        for _ in range(2)
    ]
    outputs = [node.communicate(timeout=300) for node in nodes]
    for node, (_, stderr) in zip(nodes, outputs, strict=True):
        assert node.returncode == 0, stderr[-3000:]
    assert "rank 1/2 joined the gloo process group" in "".join(err for _, err in outputs)
    assert (run / "model" / "model_card.json").is_file()
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["global_step"] == 2
