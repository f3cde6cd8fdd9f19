"""A block's cells: blended model probabilities (as ``predict`` makes them) or CHM heights.

``block_probabilities`` runs the global windows a block touches, grouped in model calls
by their global batch (``predict`` batches ``batch_size // T`` consecutive windows of a
window row): with one window per call the probabilities are bitwise those of ``predict``;
with more, a call holds only the block's windows of a batch, and the backend may round
differently in the last bit (a 64 px U-Net on CPU: 1.5e-8 at most).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.geo.tiles import Tile
from forestgaps_engine.inference.blending import TileWeights
from forestgaps_engine.inference.predictor import predict_windows, read_window
from forestgaps_engine.region.plan import Block, BlockPlan


def block_probabilities(
    source: Any,
    plan: BlockPlan,
    block: Block,
    thresholds_m: np.ndarray,
    normalizer: Any,
    backend: Any,
    config: InferenceConfig,
) -> tuple[Tile, np.ndarray, np.ndarray, np.ndarray]:
    """Blended probabilities over the block's read window.

    Args:
        source: open mosaic (rasterio).
        plan: the block plan (global windows).
        block: the block.
        thresholds_m: (T,) metres.
        normalizer: the model's NumPy normalizer.
        backend: runs the model.
        config: batch size and blend of the run.

    Returns:
        (read window, heights (h, w) float32 NaN at nodata, validity (h, w) bool,
        probabilities (T, h, w) float32: clipped to 0..1, NaN where no window or no data).
    """
    window = plan.read_window(block)
    values, valid = read_window(
        source, window.row_off, window.height_px, window.col_off, window.width_px
    )
    weights = TileWeights.of_rows(plan.window_rows(), config.blend)
    n_thresholds = len(thresholds_m)
    sums = np.zeros((n_thresholds, window.height_px, window.width_px), np.float32)
    weight = np.zeros((window.height_px, window.width_px), np.float32)
    windows_per_batch = max(1, config.batch_size // n_thresholds)
    for row in plan.windows_of(block):
        groups: dict[int, list[Tile]] = {}
        for index, tile in row:
            groups.setdefault(index // windows_per_batch, []).append(tile)
        for tiles in groups.values():
            local = {tile: tile.slices(window.row_off, window.col_off) for tile in tiles}
            live = [tile for tile in tiles if valid[local[tile]].any()]
            if not live:
                continue
            batch_values = np.stack([values[local[tile]] for tile in live])[:, None]
            batch_valid = np.stack([valid[local[tile]] for tile in live])[:, None]
            probabilities = predict_windows(
                batch_values, batch_valid, thresholds_m, normalizer, backend
            )
            # The sums of TileRowBlender: tile rows top to bottom, tiles left to right.
            for tile, tile_probabilities in zip(live, probabilities, strict=True):
                tile_weights = weights.of(tile)
                rows_, cols_ = local[tile]
                sums[:, rows_, cols_] += tile_probabilities * tile_weights
                weight[rows_, cols_] += tile_weights
    with np.errstate(invalid="ignore", divide="ignore"):
        blended = sums / weight
    blended[:, weight <= 0] = np.nan
    keep = np.isfinite(blended) & valid
    np.clip(blended, 0.0, 1.0, out=blended)
    blended[~keep] = np.nan
    return window, values, valid, blended

