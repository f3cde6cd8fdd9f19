"""forestgaps:gapchange and forestgaps:gappattern through QGIS Processing and qgis_process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import numpy as np
import pytest

PLUGIN_NAME = "forestgaps"


def write_chm(path: Path, heights_m: np.ndarray) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(
        path, "w", driver="GTiff", height=heights_m.shape[0], width=heights_m.shape[1],
        count=1, dtype="float32", crs="EPSG:2154",
        transform=from_origin(700_000.0, 6_600_000.0, 1.0, 1.0), nodata=-9999.0,
    ) as dataset:  # fmt: skip
        dataset.write(heights_m.astype(np.float32), 1)
    return path


@pytest.fixture
def chm_pair(tmp_path: Path) -> tuple[Path, Path]:
    """Two dates, 30 x 30 px at 1 m: one 3 x 3 gap persists, a 4 x 4 gap opens, one 2 x 2
    gap closes, and six single-cell gaps on a diagonal on both dates (for the pattern)."""
    before = np.full((30, 30), 22.0)
    after = np.full((30, 30), 22.0)
    before[2:5, 2:5] = after[2:5, 2:5] = 1.0
    after[20:24, 20:24] = 2.0
    before[10:12, 25:27] = 3.0
    for index in range(6):
        before[8 + 3 * index, 3 + 3 * index] = after[8 + 3 * index, 3 + 3 * index] = 1.0
    return write_chm(tmp_path / "before.tif", before), write_chm(tmp_path / "after.tif", after)


def test_gap_change_in_process(
    qgis_processing: None, started_plugin: Any, chm_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    import processing
    import rasterio
    from qgis.core import QgsVectorLayer

    results = processing.run(
        "forestgaps:gapchange",
        {"BEFORE": str(chm_pair[0]), "AFTER": str(chm_pair[1]), "THRESHOLDS": "5",
         "DATE_BEFORE": "2020-06-01", "DATE_AFTER": "2022-06-01",
         "OUTPUT_FOLDER": str(tmp_path / "out")},
    )  # fmt: skip
    assert results["NEW_GAP_AREA"] == 16.0
    with rasterio.open(results["CHANGE"]) as dataset:
        assert np.count_nonzero(dataset.read(1) == 2) == 16
    with rasterio.open(results["CLASSES"]) as dataset:
        assert np.count_nonzero(dataset.read(1) == 3) == 4
    events = QgsVectorLayer(results["EVENTS"], "events", "ogr")
    assert events.isValid()
    kinds = sorted(feature["event"] for feature in events.getFeatures())
    assert kinds == ["closure", "new"] + ["persistent"] * 7
    summary = json.loads(Path(results["SUMMARY"]).read_text())
    assert summary["thresholds"]["t5"]["rates"]["new_gaps_per_ha_per_year"] > 0


def test_gap_change_rejects_one_dtm_and_one_date(
    qgis_processing: None, started_plugin: Any, chm_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    import processing
    from qgis.core import QgsProcessingException

    base = {"BEFORE": str(chm_pair[0]), "AFTER": str(chm_pair[1]), "THRESHOLDS": "5",
            "OUTPUT_FOLDER": str(tmp_path / "out")}  # fmt: skip
    with pytest.raises(QgsProcessingException, match="both survey dates"):
        processing.run("forestgaps:gapchange", {**base, "DATE_BEFORE": "2020-06-01"})
    with pytest.raises(QgsProcessingException, match="DTM for both dates"):
        processing.run("forestgaps:gapchange", {**base, "INPUT_KIND": 1,
                                                "BEFORE_DTM": str(chm_pair[0])})  # fmt: skip
    with pytest.raises(QgsProcessingException, match="not after the first"):
        processing.run("forestgaps:gapchange", {**base, "DATE_BEFORE": "2022-06-01",
                                                "DATE_AFTER": "2020-06-01"})  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_gap_pattern_in_process(
    qgis_processing: None, started_plugin: Any, chm_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    import processing

    gaps = processing.run(
        "forestgaps:gapsfromchm",
        {"INPUT": str(chm_pair[1]), "THRESHOLD": 5, "MIN_AREA": 1, "MAX_AREA": 100,
         "OUTPUT_FOLDER": str(tmp_path / "gaps")},
    )  # fmt: skip
    results = processing.run(
        "forestgaps:gappattern",
        {"GAPS": gaps["GAP_POLYGONS"], "WINDOW": str(chm_pair[1]), "SIMULATIONS": 19,
         "OUTPUT_FOLDER": str(tmp_path / "pattern")},
    )  # fmt: skip
    summary = json.loads(Path(results["JSON"]).read_text())
    assert summary["n_gaps"] == 8
    assert summary["window"]["bounds"] == [700000.0, 6599970.0, 700030.0, 6600000.0]
    assert results["CLARK_EVANS_R"] == pytest.approx(summary["clark_evans"]["R"])
    assert Path(results["PLOT"]).read_bytes()[:4] == b"\x89PNG"


def venv_site_packages() -> str:
    """The test interpreter's site-packages, where pydantic & co live (the .venv)."""
    paths = sysconfig.get_paths()
    return os.pathsep.join(dict.fromkeys([paths["purelib"], paths["platlib"]]))


@pytest.mark.slow
def test_qgis_process_runs_change_and_pattern_headless(
    require_qgis: None, plugins_dir: Path, chm_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    qgis_process = shutil.which("qgis_process.bin") or shutil.which("qgis_process")
    if qgis_process is None:
        if os.environ.get("FORESTGAPS_REQUIRE_QGIS") == "1":
            pytest.fail("qgis_process is required (FORESTGAPS_REQUIRE_QGIS=1) but not found")
        pytest.skip("qgis_process is not installed")
    home = tmp_path / "home"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "QGIS_PLUGINPATH": str(plugins_dir),
        # A fresh profile per test, never the user's nor pytest-qgis's.
        "QGIS_CUSTOM_CONFIG_PATH": str(home / "qgis"),
        "QGIS_OPTIONS_PATH": str(home / "qgis"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "FORESTGAPS_DEPS_PATH": venv_site_packages(),
    }

    def qgis_process_run(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [qgis_process, *arguments], capture_output=True, text=True, timeout=180, env=env
        )

    enabled = qgis_process_run("plugins", "enable", PLUGIN_NAME)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    run = qgis_process_run(
        "--json", "run", "forestgaps:gapchange", "--", f"BEFORE={chm_pair[0]}",
        f"AFTER={chm_pair[1]}", "THRESHOLDS=5,10", f"OUTPUT_FOLDER={tmp_path / 'change'}",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    change = json.loads(run.stdout[run.stdout.index("{") :])["results"]
    assert change["NEW_GAP_AREA"] == 16.0
    assert (tmp_path / "change" / "gap_events_t10.gpkg").is_file()
    run = qgis_process_run(
        "--json", "run", "forestgaps:gappattern", "--", f"GAPS={change['CHANGE']}",
        "SIMULATIONS=9", f"OUTPUT_FOLDER={tmp_path / 'pattern'}",
    )  # fmt: skip
    # One new gap only: the pattern needs two, and says so as a Processing error.
    assert run.returncode != 0
    assert "at least 2" in run.stdout + run.stderr
    run = qgis_process_run(
        "--json", "run", "forestgaps:gappattern", "--", f"GAPS={change['CLASSES']}",
        f"OUTPUT_FOLDER={tmp_path / 'pattern'}", "SIMULATIONS=9",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads(run.stdout[run.stdout.index("{") :])["results"]
    assert Path(results["PLOT"]).is_file()
    # Every changed or persistent gap patch of the classes raster: 7 + 1 new + 1 closed.
    assert json.loads(Path(results["JSON"]).read_text())["n_gaps"] == 9
