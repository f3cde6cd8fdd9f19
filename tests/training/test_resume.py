"""Exact resume: a run SIGKILLed mid-epoch and resumed ends with the uninterrupted weights."""

import signal
import subprocess
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).with_name("tiny_run.py")


def _run(out_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(out_dir), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _final(out_dir: Path) -> dict:
    return torch.load(out_dir / "final_rank0.pt", weights_only=True)


def test_killed_run_resumes_to_identical_weights(tmp_path: Path):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    done = _run(straight)
    assert done.returncode == 0, done.stderr
    # 32 samples / batch 4 = 8 batches, accumulation 2 -> 4 optimizer steps per epoch;
    # checkpoints every 3 steps, killed at step 7: mid-epoch 2, last.pt from step 6.
    killed = _run(broken, "--kill-after-step", "7")
    assert killed.returncode == -signal.SIGKILL
    assert (broken / "checkpoints" / "last.pt").is_file()
    assert not (broken / "final_rank0.pt").exists()
    state = torch.load(broken / "checkpoints" / "last.pt", weights_only=True)
    assert (state["global_step"], state["epoch"], state["next_batch"]) == (6, 1, 4)
    resumed = _run(broken, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    expected, actual = _final(straight), _final(broken)
    assert expected.keys() == actual.keys()
    for name in expected:
        assert torch.allclose(expected[name].float(), actual[name].float(), atol=1e-6), name
