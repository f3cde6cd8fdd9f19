"""From a probability raster to a gap mask, gap ids and per-gap DSM statistics.

The cut is ``probability >= cutoff``; an optional opening then closing with a disk removes
speckle and pinholes; gaps are then 8-connected patches of at least ``min_gap_area_m2``,
numbered like the classic detector numbers them (``gaps.detector.label_gaps``).
Probabilities are read strip by strip; the validity and the ids are held whole (1 + 4
bytes per cell, plus 1 for the cut while labelling), since a gap may span the raster.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from forestgaps_engine.gaps.detector import EIGHT_CONNECTED
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.inference.predictor import read_strip

logger = logging.getLogger(__name__)

STRIP_ROWS = 512
MASK_GAP, MASK_NOT_GAP, MASK_NODATA = 1, 0, 255


@dataclass(frozen=True)
class GapLabels:
    """Gaps of one threshold on one grid.

    Attributes:
        ids: (H, W) int32, 0 = no gap, 1..n gap ids.
        valid: (H, W) bool, False where the probability is nodata.
        grid: where the cells lie.
    """

    ids: np.ndarray
    valid: np.ndarray
    grid: Grid

    @property
    def n_gaps(self) -> int:
        """Number of gaps."""
        return int(self.ids.max(initial=0))

    def mask(self) -> np.ndarray:
        """(H, W) uint8: 1 gap, 0 not gap, 255 nodata."""
        out = np.where(self.ids > 0, MASK_GAP, MASK_NOT_GAP).astype(np.uint8)
        out[~self.valid] = MASK_NODATA
        return out


def _disk(radius_px: int) -> np.ndarray:
    offsets = np.arange(-radius_px, radius_px + 1)
    return offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius_px**2


def _read_mask(
    probability: Any, grid: Grid, rule: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """(H, W) bool ``rule(values, valid)`` over a probability raster, read by strips."""
    out = np.zeros(grid.shape, dtype=bool)
    for row_off in range(0, grid.height_px, STRIP_ROWS):
        n_rows = min(STRIP_ROWS, grid.height_px - row_off)
        values, strip_valid = read_strip(probability, row_off, n_rows)
        out[row_off : row_off + n_rows] = rule(values, strip_valid)
    return out


def label_probabilities(
    probability: Any,
    grid: Grid,
    cutoff: float,
    min_gap_area_m2: float,
    cleanup_radius_px: int = 0,
) -> GapLabels:
    """Gap ids from an open probability raster (nodata = invalid).

    Args:
        probability: open rasterio dataset of probabilities 0..1 on ``grid``.
        grid: its grid (metric: areas are cell counts times ``grid.cell_area_m2``).
        cutoff: a cell is gap when its probability is >= this.
        min_gap_area_m2: smaller patches are dropped (inclusive bound).
        cleanup_radius_px: opening then closing radius; 0 disables it.
    """

    def cut(values: np.ndarray, strip_valid: np.ndarray) -> np.ndarray:
        return strip_valid & (values >= cutoff)

    is_gap = _read_mask(probability, grid, cut)
    if cleanup_radius_px > 0:
        valid = _read_mask(probability, grid, lambda _values, strip_valid: strip_valid)
        disk = _disk(cleanup_radius_px)
        is_gap = ndimage.binary_closing(ndimage.binary_opening(is_gap, disk), disk) & valid
        ids = _label_in_place(is_gap, grid.cell_area_m2, min_gap_area_m2)
        return GapLabels(ids=ids, valid=valid, grid=grid)
    ids = _label_in_place(is_gap, grid.cell_area_m2, min_gap_area_m2)
    # The validity is read again only now: labelling then holds 5 bytes per cell, not 6.
    del is_gap
    valid = _read_mask(probability, grid, lambda _values, strip_valid: strip_valid)
    return GapLabels(ids=ids, valid=valid, grid=grid)


def count_ids(ids: np.ndarray, max_id: int) -> np.ndarray:
    """(max_id + 1,) int64 cells per id, counted by strips.

    ``np.bincount`` casts its input to int64: on a whole 16384² raster that is a 2 GB copy.
    """
    counts = np.zeros(max_id + 1, dtype=np.int64)
    for row_off in range(0, ids.shape[0], STRIP_ROWS):
        counts += np.bincount(ids[row_off : row_off + STRIP_ROWS].ravel(), minlength=max_id + 1)
    return counts


def _label_in_place(is_gap: np.ndarray, cell_area_m2: float, min_gap_area_m2: float) -> np.ndarray:
    """``gaps.detector.label_gaps`` on a boolean mask, without its float copies.

    Same numbering (8-connected patches in row-major order of their first cell, survivors
    renumbered 1..n in that order) and the same inclusive area bound; one int32 array is
    the only full-size allocation, relabelled in place (4 bytes per cell instead of 21).
    """
    ids = np.empty(is_gap.shape, dtype=np.int32)
    n_patches = ndimage.label(is_gap, structure=EIGHT_CONNECTED, output=ids)
    if n_patches == 0:
        return ids
    area_m2 = count_ids(ids, n_patches) * float(cell_area_m2)
    is_kept = area_m2 >= min_gap_area_m2
    is_kept[0] = False
    new_id = np.zeros(n_patches + 1, dtype=np.int32)
    new_id[is_kept] = np.arange(1, int(is_kept.sum()) + 1, dtype=np.int32)
    np.take(new_id, ids, out=ids)
    return ids


@dataclass(frozen=True)
class GapStatistics:
    """Per-gap figures, index i describing gap id i + 1.

    Attributes:
        area_m2: (n,) gap areas.
        dsm_mean_m: (n,) mean DSM height in the gap.
        dsm_min_m: (n,) lowest DSM height.
        dsm_max_m: (n,) highest DSM height.
    """

    area_m2: np.ndarray
    dsm_mean_m: np.ndarray
    dsm_min_m: np.ndarray
    dsm_max_m: np.ndarray


def gap_statistics(labels: GapLabels, dsm: Any) -> GapStatistics:
    """Area and DSM statistics of every gap, reading the DSM (on ``labels.grid``) by strips.

    Args:
        labels: gap ids.
        dsm: open rasterio dataset (or view) of the DSM on ``labels.grid``.
    """
    n_gaps = labels.n_gaps
    counts = count_ids(labels.ids, n_gaps)[1:]
    sums = np.zeros(n_gaps + 1)
    valid_counts = np.zeros(n_gaps + 1)
    lows = np.full(n_gaps + 1, np.inf)
    highs = np.full(n_gaps + 1, -np.inf)
    for row_off in range(0, labels.grid.height_px, STRIP_ROWS):
        n_rows = min(STRIP_ROWS, labels.grid.height_px - row_off)
        ids = labels.ids[row_off : row_off + n_rows]
        values, valid = read_strip(dsm, row_off, n_rows)
        inside = (ids > 0) & valid
        if not inside.any():
            continue
        strip_ids, strip_values = ids[inside], values[inside].astype(np.float64)
        sums += np.bincount(strip_ids, weights=strip_values, minlength=n_gaps + 1)
        valid_counts += np.bincount(strip_ids, minlength=n_gaps + 1)
        # find_objects + bounding boxes: linear time, where ndimage.minimum sorts every cell.
        strip_labels = np.where(inside, ids, 0)
        boxes = ndimage.find_objects(strip_labels)
        for gap_id in np.flatnonzero(np.bincount(strip_ids)):
            box = boxes[gap_id - 1]
            box_values = values[box][strip_labels[box] == gap_id]
            lows[gap_id] = min(lows[gap_id], float(box_values.min()))
            highs[gap_id] = max(highs[gap_id], float(box_values.max()))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(valid_counts > 0, sums / np.maximum(valid_counts, 1), np.nan)
    lows[~np.isfinite(lows)] = np.nan
    highs[~np.isfinite(highs)] = np.nan
    return GapStatistics(
        area_m2=counts * labels.grid.cell_area_m2,
        dsm_mean_m=means[1:],
        dsm_min_m=lows[1:],
        dsm_max_m=highs[1:],
    )


def write_mask(target: Any, labels: GapLabels) -> None:
    """Write ``labels.mask()`` (1 gap, 0 not, 255 nodata) strip by strip, atomically."""
    from rasterio.windows import Window

    from forestgaps_engine.geo.raster_io import MASK_PROFILE, open_raster_for_writing

    height_px, width_px = labels.grid.shape
    with open_raster_for_writing(target, labels.grid, MASK_PROFILE) as out:
        for row_off in range(0, height_px, STRIP_ROWS):
            rows = slice(row_off, min(row_off + STRIP_ROWS, height_px))
            strip = (labels.ids[rows] > 0).astype(np.uint8)
            strip[~labels.valid[rows]] = MASK_NODATA
            out.write(strip, 1, window=Window(0, row_off, width_px, strip.shape[0]))


def warp_labels_to(labels: GapLabels, target: Grid) -> GapLabels:
    """Nearest-neighbour copy of ``labels`` on another grid (ids keep their numbers)."""
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    if labels.grid.same_cells(target):
        return labels
    ids = np.zeros(target.shape, dtype=np.int32)
    valid = np.zeros(target.shape, dtype=np.uint8)
    common = {
        "src_transform": labels.grid.transform,
        "src_crs": labels.grid.crs,
        "dst_transform": target.transform,
        "dst_crs": target.crs,
        "resampling": Resampling.nearest,
    }
    reproject(source=labels.ids, destination=ids, **common)
    reproject(source=labels.valid.astype(np.uint8), destination=valid, dst_nodata=0, **common)
    return GapLabels(ids=ids, valid=valid.astype(bool), grid=target)
