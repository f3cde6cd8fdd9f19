"""One behaviour, several faces: the panel and the Processing algorithm offer the maximum
gap area and the classic fallback, and give what one ``detect`` call gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The plugin's fixtures: the dock, and the plugin built as a zip and started.
from tests.plugin.conftest import (  # noqa: F401
    plugin_zip,
    plugins_dir,
    qgis_plugin_env,
    started_plugin,
)
from tests.plugin.test_plugin_dock import add_raster, dock, run_and_wait  # noqa: F401

MAX_AREA_M2 = 20.0
# The profile pytest-qgis starts QGIS with: tracked in git, so no test may write into it.
TRACKED_PROFILE = Path(__file__).resolve().parents[1] / ".qgis-settings" / "profiles" / "default"


@pytest.fixture(autouse=True)
def own_settings_folder(require_qgis: None, qgis_app: Any, tmp_path: Path) -> Iterator[Path]:
    """Point QGIS's user settings at a folder of this test's, then back at the tracked profile.

    The panel saves its values at each run; QSettings resolves its file when an object is
    made, so every QgsSettings made in between reads and writes the temporary folder.
    """
    from qgis.core import QgsSettings
    from qgis.PyQt.QtCore import QSettings

    # fileName is <profile>/QGIS/QGIS3.ini; setPath takes <profile>.
    profile = Path(QgsSettings().fileName()).parent.parent
    folder = tmp_path / "settings"
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(folder))
    try:
        yield folder
    finally:
        QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(profile))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 64 px synthetic forest at 1 m (EPSG:2154): dsm.tif, dtm.tif, chm.tif."""
    from forestgaps_engine.synth.forest import generate_forest, write_forest

    return write_forest(generate_forest(64, seed=7), tmp_path_factory.mktemp("site"))


def engine_counts(site: dict[str, Path], out: Path, max_area_m2: float | None) -> list[int]:
    """Gap counts of the classic route on DSM - DTM, straight from the engine."""
    from forestgaps_engine.config.inference import InferenceConfig
    from forestgaps_engine.detection import detect

    config = InferenceConfig(min_gap_area_m2=1.0, max_gap_area_m2=max_area_m2)
    result = detect(site["dsm"], [5.0], out, dtm=site["dtm"], route="classic", config=config)
    return [item.n_gaps for item in result.thresholds]


def test_panel_offers_maximum_area_and_falls_back_like_the_engine(
    dock: Any,  # noqa: F811
    qgis_iface: Any,
    site: dict[str, Path],
    tmp_path: Path,
    own_settings_folder: Path,
) -> None:
    tracked_ini = TRACKED_PROFILE / "QGIS" / "QGIS3.ini"
    tracked_before = tracked_ini.read_bytes() if tracked_ini.exists() else None
    dock.dsm_combo.setLayer(add_raster(site["dsm"], "dsm"))
    dock.reference_combo.setLayer(add_raster(site["dtm"], "dtm"))
    dock.reference_kind_combo.setCurrentIndex(dock.reference_kind_combo.findData("dtm"))
    dock.thresholds.set_thresholds((5.0,))
    dock.model_edit.setText(str(tmp_path / "no_model"))
    dock.min_area_spin.setValue(1.0)
    assert dock.max_area_spin.specialValueText() and dock.max_area_spin.value() == 0.0
    dock.max_area_spin.setValue(MAX_AREA_M2)
    dock.output_widget.setFilePath(str(tmp_path / "panel"))

    outcome = run_and_wait(dock, qgis_iface)

    assert outcome.status == "success", outcome.summary
    assert outcome.params.max_gap_area_m2 == MAX_AREA_M2
    assert outcome.result.method == "classic"
    counts = [item.n_gaps for item in outcome.result.thresholds]
    assert counts == engine_counts(site, tmp_path / "engine", MAX_AREA_M2)
    assert counts[0] < engine_counts(site, tmp_path / "unbounded", None)[0]
    # The run saved the panel's values, into this test's own profile only.
    after = tracked_ini.read_bytes() if tracked_ini.exists() else None
    assert after == tracked_before, f"{tracked_ini} changed"
    saved = (own_settings_folder / "QGIS" / "QGIS3.ini").read_text()
    assert f"max_gap_area_m2={MAX_AREA_M2:g}" in saved


def test_processing_offers_maximum_area_and_the_classic_fallback(
    qgis_processing: None, started_plugin: Any, site: dict[str, Path], tmp_path: Path  # noqa: F811
) -> None:
    import processing

    result = processing.run(
        "forestgaps:detectgaps",
        {
            "INPUT": str(site["dsm"]), "DTM": str(site["dtm"]), "THRESHOLDS": "5",
            "MODEL": str(tmp_path / "no_model"), "MIN_AREA": 1.0, "MAX_AREA": MAX_AREA_M2,
            "OUTPUT_FOLDER": str(tmp_path / "processing"),
        },
    )  # fmt: skip

    assert result["METHOD"] == "classic"
    assert [result["N_GAPS"]] == engine_counts(site, tmp_path / "engine", MAX_AREA_M2)
