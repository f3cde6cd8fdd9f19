"""A tiny CHM with known gaps, written with rasterio in EPSG:2154 (Lambert-93)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

CHM_TRANSFORM = Affine(0.5, 0.0, 700000.0, 0.0, -0.5, 6600000.0)


def write_chm(path: Path, height_m: np.ndarray, crs: str | None = "EPSG:2154") -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=height_m.shape[1],
        height=height_m.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=CHM_TRANSFORM,
        nodata=-9999.0,
    ) as dataset:
        dataset.write(np.where(np.isnan(height_m), -9999.0, height_m).astype("float32"), 1)
    return path


def small_chm_heights() -> np.ndarray:
    """(20, 24) canopy at 25 m with gaps: 4x4 at 3 m, 2x3 at 8 m, one cell at 1 m, nodata."""
    rng = np.random.default_rng(7)
    height_m = 22.0 + 6.0 * rng.random((20, 24))
    height_m[2:6, 2:6] = 3.0  # 16 cells = 4 m2
    height_m[10:12, 15:18] = 8.0  # 6 cells = 1.5 m2, gap only at t >= 8
    height_m[17, 3] = 1.0  # 1 cell = 0.25 m2
    height_m[0:3, 20:24] = np.nan  # nodata corner
    return height_m


@pytest.fixture
def small_chm(tmp_path: Path) -> Path:
    return write_chm(tmp_path / "chm.tif", small_chm_heights())
