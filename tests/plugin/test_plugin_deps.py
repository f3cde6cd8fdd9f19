"""plugin/deps.py: sys.path order, FORESTGAPS_DEPS_PATH, dependency checks without imports."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture
def deps(require_qgis: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setattr(sys, "path", list(sys.path))
    from plugin import deps as module

    return module


def test_bundled_engine_then_deps_folders_lead_sys_path(
    deps, repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, absent = tmp_path / "a", tmp_path / "b", tmp_path / "absent"
    first.mkdir()
    second.mkdir()
    monkeypatch.setenv(deps.DEPS_PATH_ENV, os.pathsep.join(map(str, (first, absent, second))))
    sys.path.append(str(repo_root))  # already present further down: must move to the front

    added = deps.ensure_engine_importable()

    assert added == [str(repo_root), str(first), str(second)]
    assert sys.path[:3] == added
    assert sys.path.count(str(repo_root)) == 1
    assert str(absent) not in sys.path
    assert deps.ensure_engine_importable() == added  # idempotent
    assert sys.path.count(str(first)) == 1


def test_default_deps_folder_is_in_the_qgis_profile(deps, monkeypatch: pytest.MonkeyPatch) -> None:
    from qgis.core import QgsApplication

    monkeypatch.delenv(deps.DEPS_PATH_ENV, raising=False)
    expected = Path(QgsApplication.qgisSettingsDirPath()) / "python" / "forestgaps_deps"
    assert deps.dependency_dirs() == [expected]


def test_empty_deps_path_means_no_extra_folder(deps, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(deps.DEPS_PATH_ENV, "")
    assert deps.dependency_dirs() == []


def test_missing_dependencies_sees_hidden_modules_without_importing_torch(
    deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pydantic", None)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    had_torch = "torch" in sys.modules

    assert deps.missing_dependencies(["core"]) == ["pydantic"]
    assert deps.missing_dependencies() == ["pydantic", "onnxruntime"]
    assert ("torch" in sys.modules) == had_torch
    groups = deps.missing_groups()
    assert groups == {"core": ["pydantic"], "onnx": ["onnxruntime"]}
    text = deps.describe_missing(groups)
    assert "pydantic" in text and "onnxruntime" in text and deps.DEPS_PATH_ENV in text


def test_unknown_group_lists_the_known_ones(deps) -> None:
    with pytest.raises(KeyError, match="known: \\['core', 'onnx', 'torch'\\]"):
        deps.missing_dependencies(["cuda"])
