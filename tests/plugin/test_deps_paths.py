"""Where the dependency folder is, and where it goes on sys.path (issue #22).

* QGIS's own packages win: dependency folders are appended after them (packaging,
  typing_extensions, protobuf of other plugins stay QGIS's).
* One folder for every profile and for qgis_process: ``<QGIS settings root>/forestgaps_deps``,
  plus a pointer (``<root>/forestgaps_deps_path.txt``) to a folder installed elsewhere.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.plugin.deps_support import use_profile


@pytest.fixture
def deps(require_qgis: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setattr(sys, "path", list(sys.path))
    from plugin import deps as module

    return module


def origin(module_name: str) -> str:
    """Where the import system would load ``module_name`` from, following sys.path only."""
    spec = importlib.machinery.PathFinder.find_spec(module_name, sys.path)
    assert spec is not None, module_name
    return str(spec.origin)


def test_deps_folder_comes_after_qgis_packages_on_sys_path(
    deps: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "deps"
    for name in ("packaging", "forestgaps_only_here"):
        (folder / name).mkdir(parents=True)
        (folder / name / "__init__.py").write_text("")
    qgis_packaging = origin("packaging")  # Debian's: other plugins rely on it
    monkeypatch.setenv(deps.DEPS_PATH_ENV, str(folder))

    deps.ensure_engine_importable()

    assert sys.path[-1] == str(folder)
    assert origin("packaging") == qgis_packaging
    assert origin("forestgaps_only_here") == str(folder / "forestgaps_only_here" / "__init__.py")


def test_bundled_engine_leads_and_deps_folders_trail_in_order(
    deps: ModuleType, repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, absent = tmp_path / "a", tmp_path / "b", tmp_path / "absent"
    first.mkdir()
    second.mkdir()
    monkeypatch.setenv(deps.DEPS_PATH_ENV, os.pathsep.join(map(str, (first, absent, second))))
    sys.path.append(str(repo_root))  # already present further down: must move to the front

    added = deps.ensure_engine_importable()

    assert added == [str(repo_root), str(first), str(second)]
    assert sys.path[0] == str(repo_root) and sys.path[-2:] == [str(first), str(second)]
    assert sys.path.count(str(repo_root)) == 1 and str(absent) not in sys.path
    assert deps.ensure_engine_importable() == added  # idempotent
    assert sys.path.count(str(first)) == 1 and sys.path[-2:] == [str(first), str(second)]


def test_every_profile_and_qgis_process_share_one_deps_folder(
    deps: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "QGIS3"
    monkeypatch.delenv(deps.DEPS_PATH_ENV, raising=False)
    folders = {}
    for profile in ("default", "forester"):  # qgis_process uses "default"
        use_profile(monkeypatch, root / "profiles" / profile)
        folders[profile] = deps.default_deps_dir()

    assert folders["default"] == folders["forester"] == root / "forestgaps_deps"


def test_the_real_qgis_profile_maps_to_its_settings_root(deps: ModuleType) -> None:
    from qgis.core import QgsApplication

    profile = Path(QgsApplication.qgisSettingsDirPath())
    assert profile.parent.name == "profiles"  # QGIS's layout: <root>/profiles/<name>/
    assert deps.default_deps_dir() == profile.parent.parent / "forestgaps_deps"


def test_a_folder_installed_elsewhere_is_found_through_the_pointer(
    deps: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed from QGIS with FORESTGAPS_DEPS_PATH set; qgis_process runs without it."""
    root = tmp_path / "QGIS3"
    use_profile(monkeypatch, root / "profiles" / "forester")
    elsewhere = tmp_path / "big_disk" / "deps"
    elsewhere.mkdir(parents=True)
    monkeypatch.setenv(deps.DEPS_PATH_ENV, str(elsewhere))

    pointer = deps.remember_deps_dir(elsewhere)

    assert pointer == root / deps.POINTER_NAME and pointer.read_text().strip() == str(elsewhere)
    monkeypatch.delenv(deps.DEPS_PATH_ENV)
    use_profile(monkeypatch, root / "profiles" / "default")
    assert deps.dependency_dirs() == [elsewhere, root / "forestgaps_deps"]
    assert str(elsewhere) in deps.ensure_engine_importable()


def test_a_broken_pointer_is_ignored(
    deps: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "QGIS3"
    root.mkdir()
    use_profile(monkeypatch, root / "profiles" / "default")
    monkeypatch.delenv(deps.DEPS_PATH_ENV, raising=False)
    (root / deps.POINTER_NAME).write_text("relative/folder\n")
    assert deps.dependency_dirs() == [root / "forestgaps_deps"]


def test_a_pre_issue_22_profile_deps_folder_is_still_read(
    deps: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = tmp_path / "QGIS3" / "profiles" / "forester"
    (profile / "python" / "forestgaps_deps").mkdir(parents=True)
    use_profile(monkeypatch, profile)
    monkeypatch.delenv(deps.DEPS_PATH_ENV, raising=False)
    assert deps.dependency_dirs() == [
        tmp_path / "QGIS3" / "forestgaps_deps",
        profile / "python" / "forestgaps_deps",
    ]
