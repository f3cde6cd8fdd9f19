"""A PNG contact sheet of augmented versions of one DSM tile, to check augmentation by eye."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from forestgaps_engine.config.training import AugmentationConfig
from forestgaps_engine.errors import EmptyRasterError
from forestgaps_engine.files import atomic_path

logger = logging.getLogger(__name__)

INVALID_RGB = (200, 30, 30)
GRID_COLUMNS = 4


def _centre_crop(
    values: np.ndarray, valid: np.ndarray, size_px: int
) -> tuple[np.ndarray, np.ndarray]:
    height_px, width_px = values.shape
    size_px = min(size_px, height_px, width_px)
    top, left = (height_px - size_px) // 2, (width_px - size_px) // 2
    window = (slice(top, top + size_px), slice(left, left + size_px))
    return values[window], valid[window]


def augment_preview(
    dsm_path: str | Path,
    out_path: str | Path,
    config: AugmentationConfig,
    n_samples: int = 8,
    seed: int = 0,
    tile_size_px: int = 256,
    resolution_m: float | None = None,
) -> Path:
    """Write ``out_path`` (PNG): the original centre tile, then ``n_samples`` augmentations.

    Each panel is stretched to its own height range (grey), so the vertical offset is not
    visible but the terrain tilt and the warps are; invalid cells are red.

    Args:
        dsm_path: a DSM GeoTIFF (metres).
        out_path: PNG to write (atomically).
        config: augmentation settings (``training.augmentation``).
        n_samples: augmented panels.
        seed: torch seed of the draws.
        tile_size_px: side of the centre crop.
        resolution_m: cell size for the tilt; None reads it from the raster.

    Raises:
        EmptyRasterError: the crop holds no valid cell.
    """
    import torch
    from PIL import Image

    from forestgaps_engine.geo.raster_io import read_band
    from forestgaps_engine.training.augmentation import DsmAugmenter

    band = read_band(dsm_path)
    values, valid = _centre_crop(band.values, band.valid, tile_size_px)
    if not valid.any():
        raise EmptyRasterError(
            f"{dsm_path}: the centre {values.shape[0]} px tile holds no valid cell",
            hint="Pass a DSM whose centre has data, or a smaller --tile-size.",
        )
    torch.manual_seed(seed)
    dsm = torch.from_numpy(np.where(valid, values, 0).astype(np.float32))[None, None]
    valid_t = torch.from_numpy(valid)[None, None]
    batch = {
        "dsm": dsm.repeat(n_samples, 1, 1, 1),
        "valid": valid_t.repeat(n_samples, 1, 1, 1),
        "mask": torch.zeros(n_samples, 1, *dsm.shape[-2:]),
        "threshold_m": torch.full((n_samples,), 5.0),
    }
    augmenter = DsmAugmenter(config, resolution_m or band.grid.resolution_m[0])
    with torch.no_grad():
        out = augmenter(batch)
    panels = [_render(dsm[0, 0].numpy(), valid)]
    panels += [
        _render(out["dsm"][i, 0].numpy(), out["valid"][i, 0].numpy()) for i in range(n_samples)
    ]
    sheet = _sheet(panels)
    with atomic_path(out_path) as temp_path:
        Image.fromarray(sheet).save(temp_path, format="PNG")
    logger.info("wrote %s (%d augmentations of %s)", out_path, n_samples, dsm_path)
    return Path(out_path)


def _render(heights_m: np.ndarray, valid: np.ndarray) -> np.ndarray:
    rgb = np.full((*heights_m.shape, 3), INVALID_RGB, dtype=np.uint8)
    if valid.any():
        low, high = np.percentile(heights_m[valid], [1, 99])
        grey = np.clip((heights_m - low) / max(high - low, 1e-6), 0, 1) * 255
        rgb[valid] = grey[valid, None].astype(np.uint8)
    return rgb


def _sheet(panels: list[np.ndarray], gap_px: int = 4) -> np.ndarray:
    height_px, width_px = panels[0].shape[:2]
    rows = -(-len(panels) // GRID_COLUMNS)
    sheet = np.full(
        (rows * (height_px + gap_px) - gap_px, GRID_COLUMNS * (width_px + gap_px) - gap_px, 3),
        255,
        np.uint8,
    )
    for index, panel in enumerate(panels):
        row, col = divmod(index, GRID_COLUMNS)
        top, left = row * (height_px + gap_px), col * (width_px + gap_px)
        sheet[top : top + height_px, left : left + width_px] = panel
    return sheet
