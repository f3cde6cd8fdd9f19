"""Vectorised stamping of many small round objects (crowns, road discs) onto a raster.

Objects are grouped by their pixel radius; for each offset of that group's square
kernel one numpy operation updates every object of the group at once, so the Python
loop runs over kernel offsets (tens to hundreds), never over objects or pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# profile(d, index) -> value: d is the normalised elliptical distance (1 at the edge) of
# one kernel offset for each object in ``index``; values for d > 1 are ignored.
Profile = Callable[[np.ndarray, np.ndarray], np.ndarray]


def unique_centres(rows: np.ndarray, cols: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Indices keeping one object per centre pixel, the one of highest ``priority``.

    Stamping writes every object of a group at the same offset in one fancy assignment;
    two objects sharing a centre pixel would collide there, so only one is kept.
    """
    order = np.lexsort((-priority, rows, cols))
    keys = rows[order].astype(np.int64) * (1 << 32) + cols[order]
    first = np.ones(keys.size, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return np.sort(order[first])


def stamp_ellipses(
    canvas: np.ndarray,
    centre_rc_px: np.ndarray,
    radius_px: np.ndarray,
    profile: Profile,
    aspect: np.ndarray | None = None,
    angle_rad: np.ndarray | None = None,
    reduce: str = "max",
) -> None:
    """Stamp elliptical objects onto ``canvas`` in place, keeping the max (or min) value.

    Args:
        canvas: (H, W) float32 raster, updated in place.
        centre_rc_px: (N, 2) float centres (row, col) in pixel coordinates, possibly up to
            unique per pixel (see ``unique_centres``); objects that cannot reach the canvas
            are skipped.
        radius_px: (N,) semi-major axis in pixels.
        profile: value of each object at normalised distance ``d`` (0 centre, 1 edge).
        aspect: (N,) semi-minor / semi-major ratio in (0, 1]; None for discs.
        angle_rad: (N,) direction of the major axis; None for discs.
        reduce: "max" (canopy surfaces) or "min" (distances).
    """
    height_px, width_px = canvas.shape
    reaches = (
        (centre_rc_px[:, 0] > -radius_px)
        & (centre_rc_px[:, 0] < height_px + radius_px)
        & (centre_rc_px[:, 1] > -radius_px)
        & (centre_rc_px[:, 1] < width_px + radius_px)
    )
    if not reaches.all():
        # Keep original indices: ``profile`` looks objects up by them.
        kept = np.flatnonzero(reaches)
        inner = profile
        centre_rc_px, radius_px = centre_rc_px[kept], radius_px[kept]
        if aspect is not None and angle_rad is not None:
            aspect, angle_rad = aspect[kept], angle_rad[kept]

        def profile(distance: np.ndarray, index: np.ndarray) -> np.ndarray:
            return inner(distance, kept[index])

    if radius_px.size == 0:
        return
    # Centres may lie a radius outside, and their kernels reach a radius further.
    margin_px = 2 * int(np.ceil(radius_px.max())) + 2
    padded = np.full(
        (height_px + 2 * margin_px, width_px + 2 * margin_px),
        -np.inf if reduce == "max" else np.inf,
        dtype=np.float32,
    )
    padded[margin_px:-margin_px, margin_px:-margin_px] = canvas
    flat = padded.reshape(-1)
    padded_width = padded.shape[1]
    pixel_row = np.floor(centre_rc_px[:, 0]).astype(np.int64)
    pixel_col = np.floor(centre_rc_px[:, 1]).astype(np.int64)
    # Sub-pixel position of each centre relative to its pixel's centre.
    sub_row = (centre_rc_px[:, 0] - pixel_row - 0.5).astype(np.float32)
    sub_col = (centre_rc_px[:, 1] - pixel_col - 0.5).astype(np.float32)
    base = (pixel_row + margin_px) * padded_width + (pixel_col + margin_px)
    if aspect is None or angle_rad is None:
        aspect = np.ones(radius_px.shape, dtype=np.float32)
        angle_rad = np.zeros(radius_px.shape, dtype=np.float32)
    cos_a = np.cos(angle_rad).astype(np.float32)
    sin_a = np.sin(angle_rad).astype(np.float32)
    inv_major = (1.0 / radius_px).astype(np.float32)
    inv_minor = inv_major / aspect.astype(np.float32)
    reducer = np.maximum if reduce == "max" else np.minimum
    # Geometric kernel classes: few Python iterations, at most ~40 % wasted kernel area.
    extent_px = np.ceil(radius_px).astype(np.int64)
    classes = np.unique(np.ceil(1.2 ** np.ceil(np.log(np.maximum(extent_px, 1)) / np.log(1.2))))
    extent_px = classes[np.searchsorted(classes, extent_px)].astype(np.int64)
    for extent in np.unique(extent_px):
        members = np.flatnonzero(extent_px == extent)
        group_base = base[members]
        group_sub_row, group_sub_col = sub_row[members], sub_col[members]
        group_cos, group_sin = cos_a[members], sin_a[members]
        group_inv_major, group_inv_minor = inv_major[members], inv_minor[members]
        for d_row in range(-int(extent), int(extent) + 1):
            for d_col in range(-int(extent), int(extent) + 1):
                y = np.float32(d_row) - group_sub_row
                x = np.float32(d_col) - group_sub_col
                along = (x * group_cos + y * group_sin) * group_inv_major
                across = (-x * group_sin + y * group_cos) * group_inv_minor
                distance = np.sqrt(along * along + across * across)
                inside = distance <= 1.0
                if not inside.any():
                    continue
                index = members[inside]
                target = group_base[inside] + (d_row * padded_width + d_col)
                values = profile(distance[inside], index).astype(np.float32, copy=False)
                flat[target] = reducer(flat[target], values)
    canvas[...] = padded[margin_px:-margin_px, margin_px:-margin_px]
