"""Every ForestGaps Processing algorithm added beside gapsfromchm, through processing.run."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.data.rasters import forest_cloud, write_las


def read(path: str | Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as dataset:
        return dataset.read(1, masked=True)


def test_provider_lists_every_algorithm(qgis_processing: None, started_plugin: Any) -> None:
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("forestgaps")
    ids = {algorithm.id() for algorithm in provider.algorithms()}
    expected = {
        "detectgaps", "chmfromdsmdtm", "rasterizelidar", "gapstatistics", "gapsfromchm",
        "preparetrainingdata",
    }  # fmt: skip
    assert {f"forestgaps:{name}" for name in expected} <= ids
    for algorithm in provider.algorithms():
        assert algorithm.shortHelpString()


def test_detectgaps_writes_every_threshold_on_the_dsm_grid(
    qgis_processing: None, started_plugin: Any, site: dict[str, Path], tiny_model: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    import processing

    results = processing.run(
        "forestgaps:detectgaps",
        {
            "INPUT": str(site["dsm"]), "THRESHOLDS": "10, 5", "MODEL": str(tiny_model),
            "TILE": 64, "OVERLAP": 8, "BATCH": 2, "MIN_AREA": 0,
            "OUTPUT_FOLDER": str(tmp_path / "out"),
        },
    )  # fmt: skip

    summary = json.loads(Path(results["SUMMARY"]).read_text())
    assert [t["threshold_m"] for t in summary["thresholds"]] == [5.0, 10.0]
    for label in ("t5", "t10"):
        probability = read(tmp_path / "out" / f"gap_probability_{label}.tif")
        assert probability.shape == (96, 96)
        assert 0.0 <= probability.min() and probability.max() <= 1.0
        assert (tmp_path / "out" / f"gaps_{label}.gpkg").is_file()
    assert results["N_GAPS"] == summary["thresholds"][0]["n_gaps"]


def test_detectgaps_max_area_bounds_the_polygons(
    qgis_processing: None, started_plugin: Any, site: dict[str, Path], tiny_model: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    import sqlite3

    import processing

    common = {
        "INPUT": str(site["dsm"]), "THRESHOLDS": "10", "MODEL": str(tiny_model),
        "TILE": 64, "OVERLAP": 8, "BATCH": 2, "MIN_AREA": 0,
    }  # fmt: skip
    unbounded = processing.run(
        "forestgaps:detectgaps", {**common, "OUTPUT_FOLDER": str(tmp_path / "all")}
    )
    bounded = processing.run(
        "forestgaps:detectgaps",
        {**common, "MAX_AREA": 20, "OUTPUT_FOLDER": str(tmp_path / "bounded")},
    )

    summaries = [json.loads(Path(r["SUMMARY"]).read_text()) for r in (unbounded, bounded)]
    assert summaries[0]["config"]["max_gap_area_m2"] is None
    assert summaries[1]["config"]["max_gap_area_m2"] == 20
    with sqlite3.connect(tmp_path / "bounded" / "gaps_t10.gpkg") as db:
        areas = [row[0] for row in db.execute("SELECT area_m2 FROM gaps")]
    assert all(area <= 20 for area in areas)
    assert bounded["N_GAPS"] <= unbounded["N_GAPS"]


def test_detectgaps_rejects_bad_thresholds_and_reports_a_missing_model(
    qgis_processing: None, started_plugin: Any, site: dict[str, Path], tmp_path: Path
) -> None:
    import processing
    from qgis.core import QgsProcessingException

    base = {"INPUT": str(site["dsm"]), "OUTPUT_FOLDER": str(tmp_path / "o")}
    with pytest.raises(QgsProcessingException, match="'five' is not a number"):
        processing.run("forestgaps:detectgaps", {**base, "THRESHOLDS": "2,five"})
    with pytest.raises(QgsProcessingException, match="below half the tile"):
        processing.run("forestgaps:detectgaps", {**base, "TILE": 64, "OVERLAP": 32})
    with pytest.raises(QgsProcessingException, match="model not found.*hint"):
        processing.run("forestgaps:detectgaps", {**base, "MODEL": str(tmp_path / "none")})


def test_chmfromdsmdtm_gives_back_the_synthetic_chm(
    qgis_processing: None, started_plugin: Any, site: dict[str, Path], tmp_path: Path
) -> None:
    import processing

    target = tmp_path / "chm.tif"
    results = processing.run(
        "forestgaps:chmfromdsmdtm",
        {"DSM": str(site["dsm"]), "DTM": str(site["dtm"]), "OUTPUT": str(target)},
    )

    assert Path(results["OUTPUT"]) == target
    np.testing.assert_allclose(read(target), read(site["chm"]), atol=1e-3)


def test_rasterizelidar_writes_dsm_dtm_and_chm_with_the_gap(
    qgis_processing: None, started_plugin: Any, tmp_path: Path
) -> None:
    import processing

    cloud = write_las(tmp_path / "plot.laz", *forest_cloud(size_m=30.0, gap_radius_m=6.0))
    results = processing.run(
        "forestgaps:rasterizelidar",
        {"INPUT": str(cloud), "RESOLUTION": 1.0, "OUTPUT_FOLDER": str(tmp_path / "out")},
    )

    chm = read(results["CHM"])
    assert chm.shape == (30, 30)
    assert np.ma.median(chm) > 15.0  # canopy at 18-22 m
    assert chm[13:17, 13:17].max() < 5.0  # the round gap in the middle
    assert Path(results["DSM"]).is_file() and Path(results["DTM"]).is_file()


def test_gapstatistics_on_the_gapsfromchm_output(
    qgis_processing: None, started_plugin: Any, small_chm: Path, tmp_path: Path
) -> None:
    import processing

    gaps = processing.run(
        "forestgaps:gapsfromchm",
        {"INPUT": str(small_chm), "THRESHOLD": 5, "MIN_AREA": 1, "MAX_AREA": 100,
         "OUTPUT_FOLDER": str(tmp_path / "gaps")},
    )  # fmt: skip
    target = tmp_path / "stats" / "stats.csv"
    results = processing.run(
        "forestgaps:gapstatistics",
        {"GAPS": gaps["GAP_RASTER"], "CHM": str(small_chm), "OUTPUT": str(target)},
    )

    assert results["N_GAPS"] == 3
    with target.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(float(row["gap_area"]) for row in rows) == [1.0, 9.0, 36.0]
    assert all(float(row["chm_max"]) == pytest.approx(2.0) for row in rows)


def test_cancelled_feedback_stops_an_algorithm_and_writes_nothing(
    qgis_processing: None, started_plugin: Any, site: dict[str, Path], tmp_path: Path
) -> None:
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    feedback.cancel()
    target = tmp_path / "chm.tif"
    with pytest.raises(QgsProcessingException, match="[Cc]ancel"):
        processing.run(
            "forestgaps:chmfromdsmdtm",
            {"DSM": str(site["dsm"]), "DTM": str(site["dtm"]), "OUTPUT": str(target)},
            feedback=feedback,
        )
    assert not target.exists()


def test_preparetrainingdata_from_the_quick_config(
    qgis_processing: None, started_plugin: Any, repo_root: Path, tmp_path: Path
) -> None:
    import processing

    results = processing.run(
        "forestgaps:preparetrainingdata",
        {
            "CONFIG": str(repo_root / "configs" / "quick.yaml"),
            "OVERRIDES": "synth.size_px=128\nsynth.n_sites=2; data.synthetic_sites=2",
            "OUTPUT_FOLDER": str(tmp_path / "prepared"),
        },
    )

    manifest = json.loads(Path(results["MANIFEST"]).read_text())
    assert Path(results["OUTPUT_FOLDER"]) == tmp_path / "prepared"
    assert manifest["splits"]["train"]["n_samples"] > 0
    assert len(manifest["sites"]) == 2


def test_detectgaps_runs_the_bundled_model_without_torch(
    qgis_processing: None, started_plugin: Any, site: dict[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The light install (ONNX Runtime, no torch) is enough for detection with a model."""
    import processing

    # None in sys.modules is how Python blocks an import; the plugin's checks honour it.
    monkeypatch.setitem(sys.modules, "torch", None)
    results = processing.run(
        "forestgaps:detectgaps",
        {
            "INPUT": str(site["dsm"]), "THRESHOLDS": "5", "TILE": 64, "OVERLAP": 8,
            "OUTPUT_FOLDER": str(tmp_path / "out"),
        },
    )  # fmt: skip
    summary = json.loads(Path(results["SUMMARY"]).read_text())
    assert summary["backend"] in ("onnxruntime", "openvino", "openvino_bf16")
    assert (tmp_path / "out" / "gap_mask_t5.tif").is_file()


def test_detectgaps_without_any_model_runtime_says_what_to_install(
    qgis_processing: None, started_plugin: Any, site: dict[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import processing
    from qgis.core import QgsProcessingException

    for module_name in ("torch", "onnxruntime", "openvino"):
        monkeypatch.setitem(sys.modules, module_name, None)
    with pytest.raises(QgsProcessingException, match="PyTorch, ONNX Runtime or OpenVINO"):
        processing.run(
            "forestgaps:detectgaps",
            {"INPUT": str(site["dsm"]), "OUTPUT_FOLDER": str(tmp_path / "o")},
        )
    assert not (tmp_path / "o").exists()
