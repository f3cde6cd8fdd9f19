import sys
import types

import pytest

from forestgaps_engine.environment import (
    ColabEnvironment,
    LocalEnvironment,
    QgisEnvironment,
    detect_environment,
)


@pytest.fixture
def clean_modules(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    for name in ("google.colab", "qgis.core"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return monkeypatch


def test_local_is_the_fallback(clean_modules):
    assert isinstance(detect_environment(), LocalEnvironment)


def test_colab_detected_and_caps_workers(clean_modules, tmp_path):
    clean_modules.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    clean_modules.setenv("FORESTGAPS_DATA_ROOT", str(tmp_path / "data"))
    clean_modules.setenv("FORESTGAPS_CHECKPOINT_ROOT", str(tmp_path / "runs"))
    environment = detect_environment()
    assert isinstance(environment, ColabEnvironment)
    assert 2 <= environment.max_workers() <= 4
    changes = environment.apply_patches()
    assert (tmp_path / "runs").is_dir()
    assert any("workers capped" in change for change in changes)


def test_colab_defaults_to_drive_when_mounted(clean_modules, monkeypatch, tmp_path):
    from forestgaps_engine.environment import colab

    monkeypatch.setattr(colab, "DRIVE_MOUNT", tmp_path)
    monkeypatch.setattr(colab, "DRIVE_PROJECT", tmp_path / "MyDrive" / "forestgaps")
    monkeypatch.delenv("FORESTGAPS_CHECKPOINT_ROOT", raising=False)
    assert ColabEnvironment().checkpoint_root() == tmp_path / "MyDrive" / "forestgaps" / "runs"


def test_qgis_detected_from_loaded_modules_only(clean_modules):
    clean_modules.setitem(sys.modules, "qgis.core", types.ModuleType("qgis.core"))
    environment = detect_environment()
    assert isinstance(environment, QgisEnvironment)
    assert environment.max_workers() == 0


def test_local_patches_nothing(clean_modules):
    assert LocalEnvironment().apply_patches() == []
    assert LocalEnvironment().device("cpu").name == "cpu"
