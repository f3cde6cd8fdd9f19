"""Fixtures: a synthetic DSM cut into a 4x4 set of tiles, and the tiny seeded model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.inference.conftest import onnx_cache_in_tmp, tiny_model_dir  # noqa: F401
from tests.inference.helpers import forest, write_dsm

TILE_PX = 64
GRID_TILES = 4


def region_surface(seed: int = 3) -> np.ndarray:
    """(256, 256) DSM with gaps on tile edges and a corner, and a nodata patch."""
    values = forest(TILE_PX * GRID_TILES, seed)
    rows, cols = np.mgrid[0 : values.shape[0], 0 : values.shape[1]]
    for centre_row, centre_col, radius in ((64, 64, 9), (128, 100, 7), (30, 192, 6),
                                           (192, 192, 12), (200, 60, 5)):  # fmt: skip
        inside = (rows - centre_row) ** 2 + (cols - centre_col) ** 2 <= radius**2
        values[inside] = 201.0
    values[240:, :20] = np.nan
    return values


def write_tiles(folder: Path, values: np.ndarray) -> list[Path]:
    """Cut ``values`` (on the helpers' origin, 1 m cells) into 4x4 GeoTIFF tiles."""
    from tests.inference.helpers import ORIGIN

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(GRID_TILES):
        for j in range(GRID_TILES):
            piece = values[i * TILE_PX : (i + 1) * TILE_PX, j * TILE_PX : (j + 1) * TILE_PX]
            origin = (ORIGIN[0] + j * TILE_PX, ORIGIN[1] - i * TILE_PX)
            paths.append(write_dsm(folder / f"tile_{i}_{j}.tif", piece, origin=origin))
    return paths


@pytest.fixture
def region_tiles(tmp_path: Path) -> tuple[Path, Path]:
    """(folder of 16 tiles, the whole DSM as one GeoTIFF)."""
    values = region_surface()
    folder = tmp_path / "tiles"
    write_tiles(folder, values)
    return folder, write_dsm(tmp_path / "whole.tif", values)


@pytest.fixture
def region_chm_tiles(tmp_path: Path) -> tuple[Path, Path]:
    """(folder of 16 CHM tiles, the whole CHM as one GeoTIFF): the DSM less its 200 m floor."""
    values = region_surface() - 200.0
    folder = tmp_path / "chm_tiles"
    write_tiles(folder, values)
    return folder, write_dsm(tmp_path / "whole_chm.tif", values)
