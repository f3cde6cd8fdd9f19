"""Bare-earth terrain (DTM) with real relief: regional slope, valleys and fractal hills.

Relief grows with the extent as a real landscape's does (tens to a few hundred metres
over 1 km), so the DSM of a forest is dominated by the ground and thresholding the DSM
alone cannot find gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forestgaps_engine.synth.noise import spectral_fields


@dataclass(frozen=True)
class TerrainParams:
    """Random draws that set one site's landscape.

    Attributes:
        base_elevation_m: mean altitude of the site.
        slope_m_per_m: regional gradient (rise per metre run).
        slope_azimuth_rad: direction of the regional gradient.
        hills_std_1km_m: standard deviation of the fractal hills over 1 km.
        valley_depth_m: depth scale of the valley network.
    """

    base_elevation_m: float
    slope_m_per_m: float
    slope_azimuth_rad: float
    hills_std_1km_m: float
    valley_depth_m: float

    @classmethod
    def draw(cls, rng: np.random.Generator) -> TerrainParams:
        """Draw a plausible hilly to mountainous forest landscape."""
        return cls(
            base_elevation_m=float(rng.uniform(150.0, 900.0)),
            slope_m_per_m=float(rng.uniform(0.04, 0.15)),
            slope_azimuth_rad=float(rng.uniform(0.0, 2.0 * np.pi)),
            hills_std_1km_m=float(rng.uniform(8.0, 30.0)),
            valley_depth_m=float(rng.uniform(10.0, 35.0)),
        )


def generate_terrain(
    shape_px: tuple[int, int], resolution_m: float, rng: np.random.Generator
) -> np.ndarray:
    """Ground elevation of one site.

    Args:
        shape_px: (H, W) of the raster.
        resolution_m: cell size in metres.
        rng: source of randomness (consumed deterministically).

    Returns:
        (H, W) float32 elevation in metres, all finite and positive.
    """
    params = TerrainParams.draw(rng)
    height_px, width_px = shape_px
    # beta = 4: smooth rounded hills; rougher spectra make pixel slopes unrealistically steep.
    hills, _ = spectral_fields(
        shape_px,
        resolution_m,
        rng,
        beta=4.0,
        min_wavelength_m=20.0,
        max_wavelength_m=5000.0,
        per_km=True,
    )
    # |n| of a smooth field is V-shaped along its zero lines: a branching valley network.
    valley_field, _ = spectral_fields(
        shape_px,
        resolution_m,
        rng,
        beta=3.5,
        min_wavelength_m=250.0,
        max_wavelength_m=4000.0,
        per_km=True,
    )
    valleys = np.abs(valley_field)
    valleys -= valleys.mean(dtype=np.float64)
    rows = (np.arange(height_px, dtype=np.float32) - height_px / 2.0) * np.float32(resolution_m)
    cols = (np.arange(width_px, dtype=np.float32) - width_px / 2.0) * np.float32(resolution_m)
    # Rows run south, so northing decreases with the row index.
    gradient_east = params.slope_m_per_m * np.cos(params.slope_azimuth_rad)
    gradient_north = params.slope_m_per_m * np.sin(params.slope_azimuth_rad)
    slope = np.float32(gradient_east) * cols[None, :] - np.float32(gradient_north) * rows[:, None]
    elevation = np.float32(params.base_elevation_m) + slope
    elevation += np.float32(params.hills_std_1km_m) * hills
    elevation += np.float32(params.valley_depth_m) * valleys
    np.maximum(elevation, np.float32(1.0), out=elevation)
    return elevation.astype(np.float32, copy=False)
