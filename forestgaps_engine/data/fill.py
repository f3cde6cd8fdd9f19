"""Nodata inside a window becomes the nearest valid height before the model sees it.

Normalization turns invalid cells into the window's floor (0 after subtracting the low
reference). On sloping ground that floor lies metres below the surface around a nodata
patch, so the patch looks like a deep pit: a ground estimate (the opening inside
``unet_film_relief``) sinks into it over a whole window width, and every network reads
false relief there. Real DSMs have nodata along survey borders and under water; the
nearest valid height continues the surface instead. The outputs keep the true nodata:
only the model's input is filled. Training fills its batches the same way
(``fill_nodata_nearest_torch``), so a model learns on the inputs it will be given; the
loss still ignores the filled cells.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forestgaps_engine.geo.surface_fill import fill_nearest


def fill_nodata_nearest(values: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Invalid cells of each window take the value of the nearest valid cell of that window.

    Args:
        values: ``(N, 1, H, W)`` float32 heights (any value at invalid cells).
        valid: ``(N, 1, H, W)`` bool.

    Returns:
        ``(filled values, valid for the model)``: windows without any valid cell are left
        as they are (still invalid); the others come back fully valid.
    """
    if valid.all():
        return values, valid
    filled = values.copy()
    model_valid = valid.copy()
    for index in range(values.shape[0]):
        window_valid = valid[index, 0]
        if window_valid.all() or not window_valid.any():
            continue
        filled[index, 0] = fill_nearest(values[index, 0], window_valid)
        model_valid[index, 0] = True
    return filled, model_valid


def fill_nodata_nearest_torch(dsm: Any, valid: Any) -> tuple[Any, Any]:
    """``fill_nodata_nearest`` on ``(N, 1, H, W)`` torch tensors (float heights, bool valid).

    Batches without any invalid cell come back as they are (no host copy); others are
    filled on the host and moved back to ``dsm``'s device and dtype.
    """
    import torch

    if bool(valid.all()):
        return dsm, valid
    filled, model_valid = fill_nodata_nearest(
        dsm.detach().float().cpu().numpy(), valid.detach().cpu().numpy()
    )
    return (
        torch.from_numpy(filled).to(device=dsm.device, dtype=dsm.dtype),
        torch.from_numpy(model_valid).to(valid.device),
    )
