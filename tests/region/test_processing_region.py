"""forestgaps:detectregion under qgis_process.bin (Debian's python3, headless)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from forestgaps_engine.gaps.pipeline import gaps_from_chm

ROOT = Path(__file__).resolve().parents[2]


def _qgis_process() -> str:
    found = shutil.which("qgis_process.bin") or shutil.which("qgis_process")
    if found is None:
        if os.environ.get("FORESTGAPS_REQUIRE_QGIS") == "1":
            pytest.fail("qgis_process is required (FORESTGAPS_REQUIRE_QGIS=1) but not found")
        pytest.skip("qgis_process is not installed")
    return found


def _environment(tmp_path: Path, python_path: str = "") -> dict[str, str]:
    """A fresh QGIS profile with the plugin unzipped and the venv's packages as deps."""
    archive = tmp_path / "forestgaps.zip"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_plugin.py"), "--out",
                    str(archive)], check=True, capture_output=True, timeout=120)  # fmt: skip
    plugins = tmp_path / "plugins"
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(plugins)
    paths = sysconfig.get_paths()
    home = tmp_path / "home"
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "QGIS_PLUGINPATH": str(plugins),
        "QGIS_CUSTOM_CONFIG_PATH": str(home / "qgis"),
        "QGIS_OPTIONS_PATH": str(home / "qgis"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "FORESTGAPS_DEPS_PATH": os.pathsep.join(dict.fromkeys([paths["purelib"],
                                                              paths["platlib"]])),
        "PYTHONPATH": python_path,
    }  # fmt: skip


def _run(qgis_process: str, env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([qgis_process, *arguments], capture_output=True, text=True,
                          timeout=300, env=env)  # fmt: skip


@pytest.mark.slow
def test_detect_region_runs_headless_like_gaps_from_chm(tmp_path, region_chm_tiles):
    pytest.importorskip("distributed")
    qgis_process = _qgis_process()
    folder, whole = region_chm_tiles
    env = _environment(tmp_path)
    enabled = _run(qgis_process, env, "plugins", "enable", "forestgaps")
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    run = _run(
        qgis_process, env, "--json", "run", "forestgaps:detectregion", "--",
        f"INPUT_FOLDER={folder}", "THRESHOLD=5", "METHOD=1", "BLOCK_SIZE=80", "WORKERS=2",
        f"OUTPUT_FOLDER={tmp_path / 'out'}",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads(run.stdout[run.stdout.index("{") :])["results"]
    expected = gaps_from_chm(whole, [5.0], tmp_path / "single", min_area_m2=1.0)
    assert results["N_GAPS"] == expected.thresholds[0].n_gaps > 3
    assert Path(results["GAPS"]).is_file() and Path(results["MASK"]).is_file()


@pytest.mark.slow
def test_detect_region_without_dask_names_the_install(tmp_path, region_chm_tiles):
    qgis_process = _qgis_process()
    folder, _whole = region_chm_tiles
    # A 'distributed' that cannot be imported, first on qgis_process's path.
    blocked = tmp_path / "blocked" / "distributed"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('blocked by the test')\n")
    env = _environment(tmp_path, str(blocked.parent))
    assert _run(qgis_process, env, "plugins", "enable", "forestgaps").returncode == 0
    run = _run(
        qgis_process, env, "run", "forestgaps:detectregion", "--",
        f"INPUT_FOLDER={folder}", "THRESHOLD=5", "METHOD=1",
        f"OUTPUT_FOLDER={tmp_path / 'out'}",
    )  # fmt: skip
    assert run.returncode != 0
    output = run.stdout + run.stderr
    lines = [line for line in output.splitlines() if "dask.distributed" in line]
    assert lines and 'pip install ".[region]"' in lines[0], output[-3000:]
    assert "Traceback" not in output
    assert not (tmp_path / "out" / "summary.json").exists()
