"""Fixtures for the plugin tests: the built zip, an unzipped plugin folder, a started plugin."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build_plugin.py"
PLUGIN_NAME = "forestgaps"

# The repository's plugin package ("plugin") for the unit tests of its modules.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def build_zip(out: Path) -> Path:
    """Run the real build script (as `make plugin` does) and return the zip path."""
    subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (where metadata.txt and scripts/ live)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def build_script() -> Path:
    """scripts/build_plugin.py."""
    return BUILD_SCRIPT


@pytest.fixture(scope="session")
def build_plugin_zip() -> Callable[[Path], Path]:
    """A function building the plugin zip at the given path with the real build script."""
    return build_zip


@pytest.fixture(scope="session")
def plugin_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/forestgaps.zip built once per session into a temporary folder."""
    return build_zip(tmp_path_factory.mktemp("dist") / "forestgaps.zip")


@pytest.fixture
def plugins_dir(plugin_zip: Path, tmp_path: Path) -> Path:
    """A fresh QGIS plugin folder holding the unzipped plugin (``<dir>/forestgaps``)."""
    target = tmp_path / "plugins"
    with zipfile.ZipFile(plugin_zip) as archive:
        archive.extractall(target)
    return target


def _forget_plugin_modules() -> None:
    for name in [name for name in sys.modules if name.split(".")[0] == PLUGIN_NAME]:
        del sys.modules[name]


@pytest.fixture
def qgis_plugin_env(
    require_qgis: None,
    qgis_iface: Any,
    plugins_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """qgis.utils pointed at the unzipped plugin; sys.path and QGIS state restored after."""
    import qgis.utils

    monkeypatch.setattr(sys, "path", [str(plugins_dir), *sys.path])
    monkeypatch.setattr(qgis.utils, "plugin_paths", [str(plugins_dir)])
    monkeypatch.setattr(qgis.utils, "available_plugins", list(qgis.utils.available_plugins))
    monkeypatch.setenv("FORESTGAPS_DEPS_PATH", "")
    qgis_iface.messageBar().clear_messages()
    _forget_plugin_modules()
    qgis.utils.updateAvailablePlugins()
    yield qgis.utils
    if qgis.utils.isPluginLoaded(PLUGIN_NAME):
        qgis.utils.unloadPlugin(PLUGIN_NAME)
    qgis.utils.plugins.pop(PLUGIN_NAME, None)
    qgis.utils._plugin_modules.pop(PLUGIN_NAME, None)
    _forget_plugin_modules()


@pytest.fixture
def started_plugin(qgis_plugin_env: Any) -> Any:
    """The ForestGaps plugin loaded and started (initGui) from the unzipped folder."""
    assert qgis_plugin_env.loadPlugin(PLUGIN_NAME)
    assert qgis_plugin_env.startPlugin(PLUGIN_NAME)
    return qgis_plugin_env.plugins[PLUGIN_NAME]


@pytest.fixture
def small_chm(tmp_path: Path) -> Path:
    """A 20 x 20 px CHM at 1 m in EPSG:2154: canopy at 20 m, three gaps at 2 m.

    The gaps are 1 px, 3 x 3 px and 6 x 6 px: at threshold 5 m with areas within
    [2, 30] m² only the 9 m² gap is kept.
    """
    import rasterio
    from rasterio.transform import from_origin

    heights_m = np.full((20, 20), 20.0, dtype=np.float32)
    heights_m[1, 1] = 2.0
    heights_m[5:8, 5:8] = 2.0
    heights_m[12:18, 12:18] = 2.0
    path = tmp_path / "chm.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=20,
        width=20,
        count=1,
        dtype="float32",
        crs="EPSG:2154",
        transform=from_origin(700_000.0, 6_600_000.0, 1.0, 1.0),
        nodata=-9999.0,
    ) as dataset:
        dataset.write(heights_m, 1)
    return path


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 96 px synthetic forest at 1 m (EPSG:2154): dsm.tif, dtm.tif, chm.tif."""
    from forestgaps_engine.synth.forest import generate_forest, write_forest

    return write_forest(generate_forest(96, seed=5), tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random-init U-Net (base 4, depth 2) saved as a model folder."""
    import torch

    from forestgaps_engine.models import create
    from forestgaps_engine.models.card import ModelCard, save_model
    from forestgaps_engine.models.normalization import Normalizer

    torch.manual_seed(0)
    model = create("unet", base_channels=4, depth=2)
    card = ModelCard(thresholds_m=[2.0, 5.0, 10.0], threshold_range_m=(2.0, 10.0))
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    return save_model(model, normalizer, card, tmp_path_factory.mktemp("model") / "tiny")
