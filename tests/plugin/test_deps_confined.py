"""The dependency installer writes and deletes only inside its target folder (issue #22).

Real pip runs, by the Python QGIS embeds (the one this virtual environment was made from,
whose environment has QGIS's numpy but not the venv's packages), into a folder inside a
fake QGIS profile that holds another plugin, ``startup.py`` and ``expressions/``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.plugin.deps_support import (
    assert_profile_intact,
    make_profile,
    qgis_python,
    skip_when_offline,
    snapshot,
    use_profile,
)


@pytest.fixture
def installer(require_qgis: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setattr(sys, "path", list(sys.path))
    from plugin import deps_installer

    return deps_installer


def test_install_with_a_shipped_dependency_and_scripts_stays_in_the_target(
    installer: ModuleType, qgis_app: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """laspy needs numpy (QGIS ships it; its RECORD lists ../../bin/f2py); humanfriendly has a
    console script (its RECORD lists ../../bin/humanfriendly)."""
    from plugin.dialogs.deps_dialog import DependencyDialog

    python_dir = make_profile(tmp_path)
    use_profile(monkeypatch, python_dir.parent)
    target = python_dir / "forestgaps_deps"
    target.mkdir()
    pointer = tmp_path / "forestgaps_deps_path.txt"  # the one file written outside, by design
    before = snapshot(tmp_path, target, pointer)
    constraints = installer.write_constraints(target)
    command = installer.build_pip_command(
        qgis_python(), target, constraints, ["laspy", "humanfriendly"]
    )
    dialog = DependencyDialog(target=target)

    assert dialog.start_install(command)
    assert dialog.process.waitForFinished(300_000)
    log = dialog.log_pane.toPlainText()
    if dialog.exit_code != 0:
        skip_when_offline(log)
    assert dialog.exit_code == 0, log
    assert snapshot(tmp_path, target, pointer) == before, "a file outside the target changed"
    assert_profile_intact(python_dir)
    assert (target / "laspy" / "__init__.py").is_file()
    assert (target / "bin" / "humanfriendly").is_file()  # scripts land inside the target
    assert not (target / "numpy").exists()  # QGIS's own numpy is not installed again
    assert not list(target.glob("numpy-*.dist-info"))
    dialog.deleteLater()


def test_a_plan_replacing_a_library_qgis_has_is_refused_before_installing(
    installer: ModuleType, tmp_path: Path
) -> None:
    """QGIS's packaging would stay the one imported, so a newer copy is refused up front."""
    version = subprocess.run(
        [str(qgis_python()), "-c", "import packaging; print(packaging.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not version:
        pytest.skip("QGIS's Python has no packaging distribution to conflict with")
    target = tmp_path / "deps"
    newer = f"packaging>{version}"
    command = installer.build_pip_command(
        qgis_python(), target, installer.write_constraints(target), [newer]
    )

    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)

    if completed.returncode not in (0, 2):
        skip_when_offline(completed.stdout + completed.stderr)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    message = completed.stderr.strip().splitlines()[-1]
    assert f"packaging {version}" in message and "update" in message.lower()
    assert sorted(path.name for path in target.iterdir()) == [installer.CONSTRAINTS_NAME]


def test_removal_refuses_paths_outside_the_target_from_a_real_record(
    installer: ModuleType, tmp_path: Path
) -> None:
    """A real RECORD (pip --target of humanfriendly) names ../../bin/humanfriendly."""
    from plugin import deps_pip

    target = tmp_path / "profile" / "python" / "forestgaps_deps"
    completed = subprocess.run(
        [str(qgis_python()), "-m", "pip", "install", "--no-deps", "--no-input",
         "--target", str(target), "humanfriendly"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        skip_when_offline(completed.stdout + completed.stderr)
    assert completed.returncode == 0, completed.stderr
    record = next(target.glob("humanfriendly-*.dist-info")) / "RECORD"
    escaping = [line.split(",")[0] for line in record.read_text().splitlines() if line.startswith("..")]
    assert escaping, "pip's RECORD has no ../ entry any more"
    (tmp_path / "profile" / "python" / "startup.py").write_text("kept\n")

    for entry in escaping:
        with pytest.raises(deps_pip.OutsideTargetError, match="outside"):
            deps_pip.remove_inside(target, target / entry)
        with pytest.raises(deps_pip.OutsideTargetError):
            deps_pip.remove_inside(target, target / entry.split("/")[0])
    with pytest.raises(deps_pip.OutsideTargetError):
        deps_pip.remove_inside(target, target)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (target / "link").symlink_to(outside, target_is_directory=True)
    deps_pip.remove_inside(target, target / "link")  # the link goes, what it points at stays

    assert (tmp_path / "profile" / "python" / "startup.py").read_text() == "kept\n"
    assert outside.is_dir() and not (target / "link").exists()
    deps_pip.remove_inside(target, target / "humanfriendly")
    assert not (target / "humanfriendly").exists() and (target / "bin").is_dir()
