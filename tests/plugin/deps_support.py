"""Shared by the dependency-installer tests: QGIS's Python, a forester's profile, snapshots."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

OFFLINE_SIGNS = ("No matching distribution", "Could not find a version", "NewConnectionError")


def qgis_python() -> Path:
    """The interpreter QGIS runs: the base of the test venv (Debian's python3 here), whose
    environment has QGIS's numpy but none of the venv's packages."""
    return Path(getattr(sys, "_base_executable", None) or sys.executable)


def use_profile(monkeypatch: pytest.MonkeyPatch, profile: Path) -> Path:
    """Make QGIS report ``profile`` as the active profile folder (as a real profile switch)."""
    from qgis.core import QgsApplication

    monkeypatch.setattr(QgsApplication, "qgisSettingsDirPath", staticmethod(lambda: f"{profile}/"))
    return profile


def make_profile(root: Path, name: str = "forester") -> Path:
    """``<root>/profiles/<name>/python`` holding another plugin, startup.py, expressions/."""
    python_dir = root / "profiles" / name / "python"
    plugin = python_dir / "plugins" / "other_plugin"
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text("def classFactory(iface): ...\n")
    (python_dir / "startup.py").write_text("print('forester startup')\n")
    (python_dir / "expressions").mkdir()
    (python_dir / "expressions" / "stand_age.py").write_text("# a custom expression\n")
    return python_dir


def assert_profile_intact(python_dir: Path) -> None:
    """The other plugin, startup.py and the expressions are still there, unchanged."""
    assert (python_dir / "plugins" / "other_plugin" / "__init__.py").read_text().startswith("def")
    assert (python_dir / "startup.py").read_text() == "print('forester startup')\n"
    assert (python_dir / "expressions" / "stand_age.py").is_file()


def snapshot(root: Path, *skipped: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, mtime_ns) of every file under ``root`` outside ``skipped``."""
    return {
        str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file() and not any(s == path or s in path.parents for s in skipped)
    }


def skip_when_offline(log: str) -> None:
    """Skip (not fail) when pip could not reach a package index."""
    if any(sign in log for sign in OFFLINE_SIGNS):
        pytest.skip(f"no package index reachable: {log.strip().splitlines()[-1]}")
