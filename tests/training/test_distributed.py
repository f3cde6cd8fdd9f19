"""Two CPU processes under torchrun (gloo) train together and end with the same weights."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).with_name("tiny_run.py")


@pytest.mark.slow
def test_two_ranks_end_with_identical_weights(tmp_path: Path):
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(SCRIPT),
        str(tmp_path),
        "--epochs",
        "1",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0 = torch.load(tmp_path / "final_rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "final_rank1.pt", weights_only=True)
    parameters = [name for name in rank0 if "running" not in name and "num_batches" not in name]
    assert parameters
    for name in parameters:
        assert torch.equal(rank0[name], rank1[name]), name
    # rank 0 alone wrote the checkpoint
    assert (tmp_path / "checkpoints" / "last.pt").is_file()
    assert torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)["global_step"] == 2
