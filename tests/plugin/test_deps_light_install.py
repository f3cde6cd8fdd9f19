"""Issue #22, end to end: the Light set installed with real pip from QGIS's dialog.

A forester's profile holds another plugin, ``startup.py`` and ``expressions/``. The dialog
installs the Light set with the Python QGIS runs (Debian's here) into the default folder.
Afterwards the profile and QGIS's numpy are intact, QGIS's Python detects gaps with the
installed packages, and ``qgis_process`` (default profile, no FORESTGAPS_DEPS_PATH) finds
the same folder and runs the Processing algorithm.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.plugin.deps_support import (
    assert_profile_intact,
    make_profile,
    qgis_python,
    skip_when_offline,
    snapshot,
    use_profile,
)

DETECT = """
import json, sys
sys.path.insert(0, sys.argv[1])  # the bundled engine, as the plugin's classFactory does
from plugin.deps import ensure_engine_importable
ensure_engine_importable()
import numpy, pydantic
from forestgaps_engine.gaps.pipeline import gaps_from_chm
result = gaps_from_chm(sys.argv[2], [5.0], sys.argv[3], min_area_m2=2.0, max_area_m2=30.0)
print(json.dumps({"numpy": numpy.__file__, "pydantic": pydantic.__file__,
                  "n_gaps": result.thresholds[0].n_gaps}))
"""


def qgis_python_report(code: str, *arguments: str, env: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(
        [str(qgis_python()), "-c", code, *arguments],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def qgis_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for QGIS's own Python: no venv, no deps path unless given."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "FORESTGAPS_DEPS_PATH", "PYTHONHOME")
    }
    env.update(
        QT_QPA_PLATFORM="offscreen",
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
    )
    env.update(extra)
    return env


@pytest.mark.slow
def test_light_set_installs_beside_the_profile_and_qgis_and_qgis_process_use_it(
    require_qgis: None,
    qgis_app: object,
    plugins_dir: Path,
    small_chm: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from plugin import deps, deps_installer
    from plugin.dialogs.deps_dialog import DependencyDialog

    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delenv(deps.DEPS_PATH_ENV, raising=False)
    root = tmp_path / "home" / "qgis"  # QGIS's settings root: profiles/ lives here
    python_dir = make_profile(root)
    use_profile(monkeypatch, python_dir.parent)
    # Everything of the Light set counts as missing here; QGIS's Python decides what it lacks.
    for module_name, _requirement in deps_installer.INSTALL_SETS["light"].packages:
        monkeypatch.setitem(sys.modules, module_name, None)
    monkeypatch.setattr(deps_installer, "find_python", qgis_python)
    numpy_before = qgis_python_report(
        "import json, numpy; print(json.dumps({'file': numpy.__file__}))", env=qgis_env(tmp_path)
    )["file"]
    numpy_dir = Path(numpy_before).parent
    numpy_files = snapshot(numpy_dir)
    before = snapshot(root)

    dialog = DependencyDialog()
    target = dialog.target
    assert dialog.selected_set() == "light" and dialog.install_selected()
    assert dialog.process.waitForFinished(600_000)
    log = dialog.log_pane.toPlainText()
    if dialog.exit_code != 0:
        skip_when_offline(log)
    assert dialog.exit_code == 0, log[-4000:]
    dialog.deleteLater()

    assert target == root / "forestgaps_deps"  # beside the profiles, not inside one
    assert_profile_intact(python_dir)
    pointer = root / deps.POINTER_NAME
    assert pointer.read_text().strip() == str(target)
    assert snapshot(root, target, pointer) == before, "a file outside the target changed"
    assert snapshot(numpy_dir) == numpy_files  # QGIS's numpy untouched
    assert not (target / "numpy").exists() and not list(target.glob("numpy-*.dist-info"))
    assert (target / "onnxruntime").is_dir() and (target / "laspy").is_dir()

    detected = qgis_python_report(
        DETECT,
        str(deps.bundled_engine_dir()),
        str(small_chm),
        str(tmp_path / "gaps_in_qgis_python"),
        env=qgis_env(tmp_path, FORESTGAPS_DEPS_PATH=str(target)),
    )
    assert detected["n_gaps"] == 1
    assert detected["numpy"] == numpy_before  # QGIS's numpy is the one imported
    assert Path(detected["pydantic"]).is_relative_to(target)

    qgis_process = shutil.which("qgis_process.bin") or shutil.which("qgis_process")
    if qgis_process is None:
        if os.environ.get("FORESTGAPS_REQUIRE_QGIS") == "1":
            pytest.fail("qgis_process is required (FORESTGAPS_REQUIRE_QGIS=1) but not found")
        pytest.skip("qgis_process is not installed")
    # qgis_process runs the default profile of the same settings root, without the env var.
    env = qgis_env(
        tmp_path / "home",
        QGIS_PLUGINPATH=str(plugins_dir),
        QGIS_CUSTOM_CONFIG_PATH=str(root),
        QGIS_OPTIONS_PATH=str(root),
    )

    def run(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [qgis_process, *arguments], capture_output=True, text=True, timeout=180, env=env
        )

    enabled = run("plugins", "enable", "forestgaps")
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    out_dir = tmp_path / "gaps_in_qgis_process"
    ran = run("--json", "run", "forestgaps:gapsfromchm", "--", f"INPUT={small_chm}",
              "THRESHOLD=5", "MIN_AREA=2", "MAX_AREA=30", f"OUTPUT_FOLDER={out_dir}")  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert json.loads(ran.stdout[ran.stdout.index("{") :])["results"]["N_GAPS"] == 1
    assert_profile_intact(python_dir)
