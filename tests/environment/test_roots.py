"""Every environment's data and checkpoint roots: its own default, the variables first."""

from __future__ import annotations

from pathlib import Path

import pytest

from forestgaps_engine.environment import colab
from forestgaps_engine.environment.colab import ColabEnvironment
from forestgaps_engine.environment.local import LocalEnvironment
from forestgaps_engine.environment.qgis import QgisEnvironment


def test_defaults_then_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FORESTGAPS_DATA_ROOT", raising=False)
    monkeypatch.delenv("FORESTGAPS_CHECKPOINT_ROOT", raising=False)
    monkeypatch.setattr(colab, "DRIVE_MOUNT", tmp_path / "no_drive")
    home = Path.home() / "forestgaps"
    assert (LocalEnvironment().data_root(), LocalEnvironment().checkpoint_root()) == (
        Path("out"), Path("out"),
    )  # fmt: skip
    assert (QgisEnvironment().data_root(), QgisEnvironment().checkpoint_root()) == (home, home)
    assert ColabEnvironment().data_root() == Path("/content/forestgaps/data")
    assert ColabEnvironment().checkpoint_root() == Path("/content/forestgaps/runs")
    monkeypatch.setenv("FORESTGAPS_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("FORESTGAPS_CHECKPOINT_ROOT", str(tmp_path / "runs"))
    for environment in (LocalEnvironment(), QgisEnvironment(), ColabEnvironment()):
        assert environment.data_root() == tmp_path / "data"
        assert environment.checkpoint_root() == tmp_path / "runs"
