"""A PNG preview: hillshaded DSM with gap masks overlaid in colours (numpy + Pillow only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forestgaps_engine.files import atomic_path

# Colour-blind-friendly (Okabe-Ito), one per mask in the order given.
MASK_COLOURS_RGB = (
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (204, 121, 167),
    (213, 94, 0),
    (0, 114, 178),
    (240, 228, 66),
)
NODATA_RGB = (255, 255, 255)
MASK_OPACITY = 0.55


def hillshade(
    surface_m: np.ndarray,
    resolution_m: float = 1.0,
    azimuth_deg: float = 315.0,
    altitude_deg: float = 45.0,
) -> np.ndarray:
    """Lambertian shading of a height surface lit from ``azimuth_deg`` (clockwise from north).

    Args:
        surface_m: (H, W) heights in metres; NaN cells are filled before shading.
        resolution_m: cell size in metres (sets the slopes).
        azimuth_deg: direction the light comes from.
        altitude_deg: light elevation above the horizon.

    Returns:
        (H, W) float32 brightness in [0, 1].
    """
    finite = np.isfinite(surface_m)
    filled = np.where(finite, surface_m, np.nanmedian(surface_m) if finite.any() else 0.0)
    d_row, d_col = np.gradient(filled.astype(np.float32), resolution_m)
    # Rows run south: the northward slope is -d_row.
    slope = np.arctan(np.hypot(d_col, d_row))
    aspect = np.arctan2(-d_col, d_row)
    zenith = np.deg2rad(90.0 - altitude_deg)
    azimuth = np.deg2rad(360.0 - azimuth_deg + 90.0)
    shade = np.cos(zenith) * np.cos(slope) + np.sin(zenith) * np.sin(slope) * np.cos(
        azimuth - aspect
    )
    return np.clip(shade, 0.0, 1.0).astype(np.float32)


def render_quicklook(
    dsm_m: np.ndarray,
    gap_masks: dict[str, np.ndarray] | None,
    valid: np.ndarray,
    resolution_m: float = 1.0,
) -> np.ndarray:
    """The RGB image ``save_quicklook`` writes.

    Args:
        dsm_m: (H, W) surface heights in metres, NaN at nodata.
        gap_masks: label -> (H, W) bool mask; colours follow the order given, the largest
            mask is drawn first so smaller ones stay on top; None for none.
        valid: (H, W) bool, False at nodata (drawn white).
        resolution_m: cell size in metres.

    Returns:
        (H, W, 3) uint8 image.
    """
    if dsm_m.ndim != 2 or valid.shape != dsm_m.shape:
        raise ValueError(f"dsm {dsm_m.shape} and valid {valid.shape} must be the same (H, W)")
    shade = hillshade(dsm_m, resolution_m)
    # Blend shading with normalised height so both relief and canopy read.
    finite = valid & np.isfinite(dsm_m)
    if finite.any():
        low, high = np.percentile(dsm_m[finite], [1, 99])
        relative = np.clip((dsm_m - low) / max(high - low, 1e-6), 0.0, 1.0)
        relative = np.where(finite, relative, 0.0)
    else:
        relative = np.zeros_like(shade)
    grey = 0.75 * shade + 0.25 * relative
    image = np.repeat((grey * 255.0)[:, :, None], 3, axis=2).astype(np.float32)
    layers = []
    for position, (label, mask) in enumerate((gap_masks or {}).items()):
        if mask.shape != dsm_m.shape:
            raise ValueError(f"gap mask {label!r} has shape {mask.shape}, expected {dsm_m.shape}")
        colour = np.asarray(MASK_COLOURS_RGB[position % len(MASK_COLOURS_RGB)], np.float32)
        layers.append((colour, mask.astype(bool)))
    # Largest mask first: nested masks (2 m inside 5 m inside 10 m) all stay visible.
    for colour, selected in sorted(layers, key=lambda layer: -int(layer[1].sum())):
        image[selected] = (1.0 - MASK_OPACITY) * image[selected] + MASK_OPACITY * colour
    image[~valid] = NODATA_RGB
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def save_quicklook(
    png_path: str | Path,
    dsm_m: np.ndarray,
    gap_masks: dict[str, np.ndarray] | None,
    valid: np.ndarray,
    resolution_m: float = 1.0,
) -> Path:
    """Write ``render_quicklook``'s image of the other arguments to ``png_path``, atomically.

    Returns:
        The written path.
    """
    from PIL import Image

    image = Image.fromarray(render_quicklook(dsm_m, gap_masks, valid, resolution_m), "RGB")
    with atomic_path(png_path) as temp_path:
        image.save(temp_path, format="PNG", optimize=False)
    return Path(png_path)
