"""Checkpoints record the precision and the network; a resume keeps the one, checks the other.

``amp: auto`` picks bf16 or fp32 on CPU by timing, so a run resumed on a busier machine
could switch precision partway through, and ``--resume`` after editing ``model.params``
used to print 93 lines of size mismatches.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from forestgaps_engine.cli.main import main
from forestgaps_engine.training import precision
from tests.training.prepared import write_prepared


def _train_argv(prepared: Path, run: Path, *extra: str) -> list[str]:
    settings = [
        "gaps.thresholds_m=[2, 5]",
        "model.name=unet_film",
        "training.batch_size=4",
        "training.device=cpu",
        "training.num_workers=0",
        "training.monitoring.tensorboard=false",
        "training.cache_in_memory=off",
        f"training.output_dir={run}",
        *extra,
    ]
    argv = ["train", "--prepared", str(prepared)]
    for setting in settings:
        argv += ["--set", setting]
    return argv


@pytest.fixture
def prepared(tmp_path: Path) -> Path:
    return write_prepared(tmp_path / "prepared", n_train=4, n_val=0, size_px=32)


def test_changed_model_params_on_resume_is_one_line(tmp_path, prepared, capsys):
    run = tmp_path / "run"
    small = ("model.params={base_channels: 8, depth: 2}", "training.amp=off")
    assert main(_train_argv(prepared, run, *small, "training.epochs=1")) == 0
    capsys.readouterr()
    wider = ("model.params={base_channels: 16, depth: 2}", "training.amp=off")
    code = main(_train_argv(prepared, run, *wider, "training.epochs=2") + ["--resume"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("ERROR")]
    assert code == 2, err
    assert len(lines) == 2 and lines[1].startswith("ERROR: hint:")
    assert "last.pt" in lines[0] and "base_channels 8 -> 16" in lines[0]
    assert "model.params" in lines[1] and "size mismatch" not in err


def test_precision_is_recorded_and_kept_on_resume(tmp_path, prepared, capsys, monkeypatch):
    monkeypatch.setenv("FORESTGAPS_CACHE_DIR", str(tmp_path / "cache"))
    run = tmp_path / "run"
    params = "model.params={base_channels: 8, depth: 2}"
    argv = _train_argv(prepared, run, params, "training.amp=bf16", "training.epochs=1")
    assert main(argv) == 0
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["precision"] == "bf16"
    assert state["architecture"] == "unet_film" and state["params"]["base_channels"] == 8
    card = json.loads((run / "model" / "model_card.json").read_text())
    assert card["training_precision"] == "bf16"
    # Resumed with another amp setting: the run goes on in the precision it started in.
    argv = _train_argv(prepared, run, params, "training.amp=off", "training.epochs=2")
    assert main([*argv, "--resume"]) == 0
    assert "bf16, as recorded in the checkpoint" in capsys.readouterr().err
    card = json.loads((run / "model" / "model_card.json").read_text())
    assert card["training_precision"] == "bf16"
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["precision"] == "bf16" and state["epoch"] == 2


def test_auto_choice_is_probed_once_per_machine_and_model(tmp_path, monkeypatch):
    from forestgaps_engine.models import create
    from forestgaps_engine.training.precision import cpu_auto_precision

    monkeypatch.setenv("FORESTGAPS_CACHE_DIR", str(tmp_path / "cache"))
    calls = []
    real_probe = precision.probe_cpu_bf16_speedup

    def counted(model, tile_size_px=96, batch_size=2):
        calls.append(tile_size_px)
        return real_probe(model, tile_size_px, batch_size)

    monkeypatch.setattr(precision, "probe_cpu_bf16_speedup", counted)
    model = create("unet_film", base_channels=4, depth=2)
    first = cpu_auto_precision(model, 16)
    second = cpu_auto_precision(model, 16)
    assert calls == [16]
    assert second.name == first.name and "cached" in second.reason
    choices = json.loads((tmp_path / "cache" / precision.CPU_CHOICE_FILE).read_text())
    assert [entry["precision"] for entry in choices.values()] == [first.name]
    # Another model is probed on its own.
    cpu_auto_precision(create("unet_film", base_channels=8, depth=2), 16)
    assert calls == [16, 16]
