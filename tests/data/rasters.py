"""Tiny seeded GeoTIFFs and LAS/LAZ clouds with a known CRS, written where a test asks.

Every builder takes the target path and returns it, so tests write their inputs into
``tmp_path`` and nothing is shared between tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

# Origins inside the valid area of each CRS used by the tests.
ORIGINS = {
    "EPSG:2154": (700_000.0, 6_600_000.0),  # Lambert-93, central France
    "EPSG:32631": (500_000.0, 5_000_000.0),  # UTM 31N, same region
    "EPSG:2249": (770_000.0, 2_950_000.0),  # Massachusetts, US survey feet
    "EPSG:26912": (481_260.0, 3_813_011.0),  # UTM 12N (NAD83)
}


def cell_centres(
    shape: tuple[int, int], origin: tuple[float, float], resolution_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of every cell centre, each (H, W), for a north-up grid whose top-left is origin."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return origin[0] + (cols + 0.5) * resolution_m, origin[1] - (rows + 0.5) * resolution_m


def write_raster(
    path: Path,
    values: np.ndarray,
    crs: str | None = "EPSG:2154",
    origin: tuple[float, float] | None = None,
    resolution: float = 1.0,
    nodata: float | None = -9999.0,
    transform: Affine | None = None,
) -> Path:
    """Write (H, W) or (B, H, W) ``values`` as a GeoTIFF; NaN becomes ``nodata``."""
    data = values if values.ndim == 3 else values[np.newaxis]
    if nodata is not None and np.issubdtype(data.dtype, np.floating):
        data = np.where(np.isnan(data), nodata, data)
    if transform is None:
        origin = origin or ORIGINS.get(crs or "", (1_000.0, 2_000.0))
        transform = Affine(resolution, 0.0, origin[0], 0.0, -resolution, origin[1])
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[1],
        width=data.shape[2],
        count=data.shape[0],
        dtype=data.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dataset:
        dataset.write(data)
    return path


def plane_raster(
    path: Path,
    crs: str = "EPSG:2154",
    shape: tuple[int, int] = (48, 48),
    resolution: float = 1.0,
    slope: tuple[float, float] = (0.1, -0.05),
    offset_m: float = 300.0,
    origin: tuple[float, float] | None = None,
) -> Path:
    """A tilted plane z = offset + sx (x - x0) + sy (y - y0), in metres."""
    origin = origin or ORIGINS[crs]
    x, y = cell_centres(shape, origin, resolution)
    z = offset_m + slope[0] * (x - origin[0]) + slope[1] * (y - origin[1])
    return write_raster(path, z.astype(np.float32), crs, origin, resolution)


def random_chm(
    path: Path, crs: str | None = "EPSG:2154", shape: tuple[int, int] = (32, 32), seed: int = 0
) -> Path:
    """Canopy heights 0..30 m from a fixed seed, with a square 4 x 4 gap at 0.5 m."""
    heights = np.random.default_rng(seed).uniform(10.0, 30.0, shape).astype(np.float32)
    heights[10:14, 10:14] = 0.5
    return write_raster(path, heights, crs)


def write_las(
    path: Path,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    classification: np.ndarray,
    crs: str | None = "EPSG:26912",
) -> Path:
    """Write points as LAS 1.2 format 1 (``.laz`` suffix: lazrs-compressed)."""
    import laspy

    header = laspy.LasHeader(point_format=1, version="1.2")
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.array([np.floor(x.min()), np.floor(y.min()), 0.0])
    if crs is not None:
        import pyproj

        header.add_crs(pyproj.CRS.from_user_input(crs))
    las = laspy.LasData(header)
    las.x, las.y, las.z = x, y, z
    las.classification = classification.astype(np.uint8)
    las.write(str(path))
    return path


def forest_cloud(
    seed: int = 0,
    size_m: float = 40.0,
    ground_at_m: float = 200.0,
    slope: float = 0.2,
    gap_radius_m: float = 8.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A raw forest cloud in UTM 12N: sloped ground (class 2), 20 m canopy, a round gap.

    Ground z = ``ground_at_m + slope * (x - x0)``; canopy returns (class 1) sit 18-22 m above
    it everywhere except within ``gap_radius_m`` of the centre.

    Returns:
        x, y, z, classification (N,) arrays.
    """
    rng = np.random.default_rng(seed)
    x0, y_top = ORIGINS["EPSG:26912"]
    y0 = y_top - size_m
    n_ground, n_canopy = int(2 * size_m**2), int(4 * size_m**2)
    gx, gy = rng.uniform(x0, x0 + size_m, n_ground), rng.uniform(y0, y0 + size_m, n_ground)
    gz = ground_at_m + slope * (gx - x0) + rng.normal(0.0, 0.05, n_ground)
    cx, cy = rng.uniform(x0, x0 + size_m, n_canopy), rng.uniform(y0, y0 + size_m, n_canopy)
    centre = (x0 + size_m / 2, y0 + size_m / 2)
    in_gap = np.hypot(cx - centre[0], cy - centre[1]) < gap_radius_m
    cx, cy = cx[~in_gap], cy[~in_gap]
    cz = ground_at_m + slope * (cx - x0) + rng.uniform(18.0, 22.0, cx.size)
    x, y, z = np.r_[gx, cx], np.r_[gy, cy], np.r_[gz, cz]
    classification = np.r_[np.full(gx.size, 2), np.full(cx.size, 1)]
    return x, y, z, classification


def is_cog(path: Path) -> bool:
    """True when GDAL reports ``path`` as laid out like a COG (tiled, overviews first)."""
    with rasterio.open(path) as dataset:
        layout = dataset.tags(ns="IMAGE_STRUCTURE").get("LAYOUT", "")
    return layout.upper() == "COG"
