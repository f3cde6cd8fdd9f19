"""plugin/deps.py: FORESTGAPS_DEPS_PATH and dependency checks without imports (the folders
and their place on sys.path: test_deps_paths.py)."""

from __future__ import annotations

import sys
from types import ModuleType

import pytest


@pytest.fixture
def deps(require_qgis: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setattr(sys, "path", list(sys.path))
    from plugin import deps as module

    return module


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
