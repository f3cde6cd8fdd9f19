"""Finding the Python that QGIS bundles, on Windows, macOS and Linux (issue #22).

The platform is faked: ``sys.platform``, ``sys.executable`` and the prefixes are set as QGIS
sets them on each system, and the interpreters are tiny executable scripts in ``tmp_path``
that answer the version probe like a real Python would. Only the Linux case is also checked
with a real QGIS (the other tests of the installer).
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path
from types import ModuleType

import pytest

VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
NODOT = f"{sys.version_info.major}{sys.version_info.minor}"


def fake_python(path: Path, version: str = VERSION) -> Path:
    """An executable that prints ``version`` when probed, as ``python -c ...`` does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def installer(require_qgis: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    from plugin import deps_installer

    monkeypatch.setenv("PATH", str(tmp_path / "empty_path"))  # no python3 on PATH to fall to
    return deps_installer


def run_as_qgis(
    monkeypatch: pytest.MonkeyPatch, platform: str, executable: Path, prefix: Path
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(sys, "executable", str(executable))
    monkeypatch.setattr(sys, "_base_executable", str(executable), raising=False)
    for name in ("prefix", "exec_prefix", "base_prefix", "base_exec_prefix"):
        monkeypatch.setattr(sys, name, str(prefix))


@pytest.mark.parametrize("install_root", ["OSGeo4W", "Program Files/QGIS 3.34.1"])
def test_windows_python_is_found_under_apps_beside_qgis_bin(
    installer: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, install_root: str
) -> None:
    prefix = tmp_path / install_root
    qgis_bin = prefix / "bin" / "qgis-bin.exe"
    fake_python(qgis_bin, version="not a python")
    fake_python(prefix / "apps" / "Python39" / "python.exe", version="3.9")  # an older one
    wanted = fake_python(prefix / "apps" / f"Python{NODOT}" / "python.exe")
    # Inside QGIS on Windows sys.prefix is often the QGIS prefix, not the Python's folder.
    run_as_qgis(monkeypatch, "win32", qgis_bin, prefix)

    assert installer.find_python() == wanted


def test_windows_python_with_another_folder_name_is_found_by_version(
    installer: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    prefix = tmp_path / "OSGeo4W"
    qgis_bin = fake_python(prefix / "bin" / "qgis-bin.exe", version="not a python")
    fake_python(prefix / "apps" / "Python39" / "python.exe", version="3.9")
    wanted = fake_python(prefix / "apps" / "Python3" / "python.exe")
    run_as_qgis(monkeypatch, "win32", qgis_bin, prefix / "apps" / "qgis-ltr")

    assert installer.find_python() == wanted


def test_macos_python_is_found_in_the_app_bundle(
    installer: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    macos = tmp_path / "Applications" / "QGIS.app" / "Contents" / "MacOS"
    qgis = fake_python(macos / "QGIS", version="not a python")
    wanted = fake_python(macos / "bin" / "python3")
    run_as_qgis(monkeypatch, "darwin", qgis, tmp_path / "Applications" / "QGIS.app" / "Contents")

    assert installer.find_python() == wanted


def test_linux_python_is_found_in_the_prefix_of_the_qgis_program(
    installer: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    usr = tmp_path / "usr"
    qgis = fake_python(usr / "bin" / "qgis", version="not a python")
    wanted = fake_python(usr / "bin" / f"python{VERSION}")
    run_as_qgis(monkeypatch, "linux", qgis, usr)

    assert installer.find_python() == wanted


def test_no_python_of_the_running_version_is_a_user_error_with_the_fix(
    installer: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from forestgaps_engine.errors import ForestGapsError

    prefix = tmp_path / "OSGeo4W"
    qgis_bin = fake_python(prefix / "bin" / "qgis-bin.exe", version="not a python")
    fake_python(prefix / "apps" / "Python39" / "python.exe", version="3.9")
    run_as_qgis(monkeypatch, "win32", qgis_bin, prefix)

    with pytest.raises(installer.InstallerError) as caught:
        installer.find_python()
    assert isinstance(caught.value, ForestGapsError)
    assert str(qgis_bin) in caught.value.message and "pip install --target" in caught.value.hint
