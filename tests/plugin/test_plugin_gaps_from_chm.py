"""forestgaps:gapsfromchm through QGIS Processing: in process, and headless via qgis_process."""

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
ALGORITHM_ID = "forestgaps:gapsfromchm"


def gap_ids(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as dataset:
        return dataset.read(1)


def test_processing_run_finds_the_one_gap_within_the_area_bounds(
    qgis_processing: None, started_plugin: Any, small_chm: Path, tmp_path: Path
) -> None:
    import processing

    out_dir = tmp_path / "out"
    results = processing.run(
        ALGORITHM_ID,
        {
            "INPUT": str(small_chm),
            "THRESHOLD": 5,
            "MIN_AREA": 2,
            "MAX_AREA": 30,
            "OUTPUT_FOLDER": str(out_dir),
        },
    )

    assert results["N_GAPS"] == 1
    assert Path(results["OUTPUT_FOLDER"]) == out_dir
    ids = gap_ids(Path(results["GAP_RASTER"]))
    assert ids.shape == (20, 20)
    assert np.count_nonzero(ids == 1) == 9 and ids.max() == 1
    assert np.all(ids[5:8, 5:8] == 1)
    from qgis.core import QgsVectorLayer

    polygons = QgsVectorLayer(results["GAP_POLYGONS"], "gaps", "ogr")
    assert polygons.isValid() and polygons.featureCount() == 1
    assert next(polygons.getFeatures()).geometry().area() == pytest.approx(9.0)
    assert Path(results["GAP_STATS"]).is_file()


def test_processing_reports_engine_errors_as_processing_exceptions(
    qgis_processing: None, started_plugin: Any, tmp_path: Path
) -> None:
    import processing
    import rasterio
    from qgis.core import QgsProcessingException
    from rasterio.transform import from_origin

    degrees = tmp_path / "degrees.tif"
    with rasterio.open(
        degrees, "w", driver="GTiff", height=4, width=4, count=1, dtype="float32",
        crs="EPSG:4326", transform=from_origin(5.0, 45.0, 0.001, 0.001),
    ) as dataset:  # fmt: skip
        dataset.write(np.full((4, 4), 20.0, dtype="float32"), 1)

    with pytest.raises(QgsProcessingException, match="degrees.*hint: Reproject"):
        processing.run(ALGORITHM_ID, {"INPUT": str(degrees), "OUTPUT_FOLDER": str(tmp_path / "o")})
    assert not (tmp_path / "o").exists()


def test_processing_rejects_min_area_above_max_area(
    qgis_processing: None, started_plugin: Any, small_chm: Path, tmp_path: Path
) -> None:
    import processing
    from qgis.core import QgsProcessingException

    parameters = {"INPUT": str(small_chm), "MIN_AREA": 50, "MAX_AREA": 10}
    with pytest.raises(QgsProcessingException, match="larger than the maximum"):
        processing.run(ALGORITHM_ID, {**parameters, "OUTPUT_FOLDER": str(tmp_path / "o")})


def test_processing_says_which_dependency_is_missing(
    qgis_processing: None,
    started_plugin: Any,
    small_chm: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    import processing
    from qgis.core import QgsProcessingException

    monkeypatch.setitem(sys.modules, "pydantic", None)
    with pytest.raises(QgsProcessingException, match="Missing for every ForestGaps job: pydantic"):
        processing.run(ALGORITHM_ID, {"INPUT": str(small_chm), "OUTPUT_FOLDER": str(tmp_path)})


def venv_site_packages() -> str:
    """The test interpreter's site-packages, where pydantic & co live in CI (the .venv)."""
    paths = sysconfig.get_paths()
    return os.pathsep.join(dict.fromkeys([paths["purelib"], paths["platlib"]]))


@pytest.mark.slow
def test_qgis_process_runs_the_algorithm_headless(
    require_qgis: None, plugins_dir: Path, small_chm: Path, tmp_path: Path
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
        # qgis_process keeps a profile (with the enabled-plugins list): a fresh one per test,
        # never the user's nor pytest-qgis's (which exports QGIS_CUSTOM_CONFIG_PATH).
        "QGIS_CUSTOM_CONFIG_PATH": str(home / "qgis"),
        "QGIS_OPTIONS_PATH": str(home / "qgis"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "FORESTGAPS_DEPS_PATH": venv_site_packages(),
    }

    def qgis_process_run(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [qgis_process, *arguments], capture_output=True, text=True, timeout=120, env=env
        )

    enabled = qgis_process_run("plugins", "enable", PLUGIN_NAME)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    out_dir = tmp_path / "out"
    run = qgis_process_run(
        "--json",
        "run",
        ALGORITHM_ID,
        "--",
        f"INPUT={small_chm}",
        "THRESHOLD=5",
        "MIN_AREA=2",
        "MAX_AREA=30",
        f"OUTPUT_FOLDER={out_dir}",
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads(run.stdout[run.stdout.index("{") :])["results"]
    assert results["N_GAPS"] == 1
    assert np.count_nonzero(gap_ids(Path(results["GAP_RASTER"])) == 1) == 9
    assert Path(results["GAP_POLYGONS"]).is_file()


def test_processing_uses_the_crs_qgis_gives_a_raster_without_one(
    qgis_processing: None, started_plugin: Any, small_chm: Path, tmp_path: Path
) -> None:
    import processing
    import rasterio
    from qgis.core import QgsCoordinateReferenceSystem, QgsRasterLayer

    bare = tmp_path / "no_crs.tif"
    with rasterio.open(small_chm) as source:
        profile = {**source.profile, "crs": None}
        with rasterio.open(bare, "w", **profile) as target:
            target.write(source.read())
    layer = QgsRasterLayer(str(bare), "chm")
    layer.setCrs(QgsCoordinateReferenceSystem("EPSG:2154"))

    results = processing.run(
        ALGORITHM_ID,
        {
            "INPUT": layer,
            "THRESHOLD": 5,
            "MIN_AREA": 2,
            "MAX_AREA": 30,
            "OUTPUT_FOLDER": "TEMPORARY_OUTPUT",
        },
    )

    assert results["N_GAPS"] == 1
    assert Path(results["OUTPUT_FOLDER"]).is_absolute()
    with rasterio.open(results["GAP_RASTER"]) as gaps:
        assert gaps.crs.to_epsg() == 2154
