"""From a probability raster to a gap mask, gap ids and per-gap DSM statistics.

The cut is ``probability >= cutoff``; an optional opening then closing with a disk removes
speckle and pinholes; gaps are then 8-connected patches of at least ``min_gap_area_m2``,
numbered like the classic detector numbers them (``gaps.detector.label_gaps``).
``label_gap_rasters`` (used by ``predict``) holds one strip at a time: the cut goes to a
temporary uint8 raster, ``strip_labels`` labels it strip by strip, and the ids go to a
temporary int32 raster read back by strips (statistics, mask) and polygonized by GDAL
(``inference.polygons``); memory is O(strip + number of patches).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from forestgaps_engine.gaps.detector import EIGHT_CONNECTED
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.inference.cut import (
    MASK_GAP,
    MASK_NODATA,
    cut_profile,
    mask_cells,
)
from forestgaps_engine.inference.heap import release_free_heap
from forestgaps_engine.inference.predictor import read_window
from forestgaps_engine.threads import ordered_map

logger = logging.getLogger(__name__)

STRIP_ROWS = 512


def cleaned_gaps(is_gap: np.ndarray, valid: np.ndarray, radius_px: int) -> np.ndarray:
    """Opening then closing with a disk of ``radius_px`` (0: none), kept within ``valid``."""
    if radius_px <= 0:
        return is_gap
    offsets = np.arange(-radius_px, radius_px + 1)
    disk = offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius_px**2
    return ndimage.binary_closing(ndimage.binary_opening(is_gap, disk), disk) & valid


def count_ids(ids: np.ndarray, max_id: int) -> np.ndarray:
    """(max_id + 1,) int64 cells per id, counted by strips.

    ``np.bincount`` casts its input to int64: on a whole 16384² raster that is a 2 GB copy.
    """
    counts = np.zeros(max_id + 1, dtype=np.int64)
    for row_off in range(0, ids.shape[0], STRIP_ROWS):
        counts += np.bincount(ids[row_off : row_off + STRIP_ROWS].ravel(), minlength=max_id + 1)
    return counts


def label_mask_in_place(
    is_gap: np.ndarray,
    cell_area_m2: float,
    min_gap_area_m2: float,
    max_gap_area_m2: float | None = None,
) -> np.ndarray:
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
    if max_gap_area_m2 is not None:
        is_kept &= area_m2 <= max_gap_area_m2
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


@dataclass(frozen=True)
class _StripFigures:
    """Per-gap sums, counts, minima and maxima of the DSM in one strip."""

    sums: np.ndarray  # (n_gaps + 1,) float64, by gap id
    valid_counts: np.ndarray  # (n_gaps + 1,) int64, by gap id
    # (k,) ids in the strip, increasing; an id with no valid DSM cell there has lows +inf
    # and highs -inf (they leave the running minima and maxima as they are).
    present: np.ndarray
    lows: np.ndarray  # (k,) float64
    highs: np.ndarray  # (k,) float64


class StatisticsSum:
    """Per-gap DSM sums, counts, minima and maxima, indexed by gap id (slot 0: no gap).

    Folded strip by strip in strip order here, piece by piece in ``region.merge``.
    """

    def __init__(self, n_gaps: int) -> None:
        self.sums = np.zeros(n_gaps + 1)
        self.valid_counts = np.zeros(n_gaps + 1)
        self.lows = np.full(n_gaps + 1, np.inf)
        self.highs = np.full(n_gaps + 1, -np.inf)

    def add(self, figures: _StripFigures | None) -> None:
        """Fold one strip's figures in."""
        if figures is None:
            return
        self.sums += figures.sums
        self.valid_counts += figures.valid_counts
        present = figures.present
        self.lows[present] = np.minimum(self.lows[present], figures.lows)
        self.highs[present] = np.maximum(self.highs[present], figures.highs)

    def statistics(self, area_m2: np.ndarray) -> GapStatistics:
        """The figures of gaps 1..n (NaN where a gap has no valid DSM cell)."""
        counts = self.valid_counts
        means = np.where(counts > 0, self.sums / np.maximum(counts, 1), np.nan)
        lows = np.where(np.isfinite(self.lows), self.lows, np.nan)
        highs = np.where(np.isfinite(self.highs), self.highs, np.nan)
        return GapStatistics(
            area_m2=area_m2, dsm_mean_m=means[1:], dsm_min_m=lows[1:], dsm_max_m=highs[1:]
        )


CUT_FILE, IDS_FILE = "cut.tif", "gap_ids.tif"
IDS_NODATA = -1
# A strip's transient arrays cost about 40 bytes per cell (labels, int64 indices, float64
# DSM values): a cell budget, not a row count, keeps them flat as rasters widen.
STRIP_CELLS = 2**21


def strip_rows_for(width_px: int) -> int:
    """Rows per strip of the on-disk path: ``STRIP_ROWS`` at most, ``STRIP_CELLS`` cells."""
    return min(STRIP_ROWS, max(1, STRIP_CELLS // max(width_px, 1)))


@dataclass(frozen=True)
class GapRasters:
    """Gaps of one threshold kept on disk: a temporary int32 ids raster and O(n) figures.

    Attributes:
        ids_path: (H, W) int32 GeoTIFF on ``grid``: 0 no gap, 1..n gap ids, -1 nodata.
        grid: where the cells lie (metric).
        area_m2: (n,) area of gap id i + 1.
        n_valid_px: cells that are not nodata.
        n_gap_px: cells in a gap.
        statistics: per-gap DSM figures, measured in the labelling's second pass when it
            was given the DSM (None otherwise).
        boundary_edges: (n,) cell sides between gap id i + 1 and the rest, the raster's
            border included (what the polygonizer's memory grows with); None: not counted.
    """

    ids_path: Path
    grid: Grid
    area_m2: np.ndarray
    n_valid_px: int
    n_gap_px: int
    statistics: GapStatistics | None = None
    boundary_edges: np.ndarray | None = None

    @property
    def n_gaps(self) -> int:
        """Number of gaps."""
        return int(self.area_m2.size)


def _write_cut(probability: Any, grid: Grid, cutoff: float, radius_px: int, target: Path) -> None:
    """Write the cut (1 gap, 0 not, 255 nodata), cleaned strip by strip with a halo.

    Opening then closing chains four erosions/dilations of ``radius_px``: a strip read with
    ``4 * radius_px`` extra rows each side is exact in its own rows, as on the whole raster.
    """
    from rasterio.windows import Window

    from forestgaps_engine.geo.raster_io import open_raster_for_writing

    halo_px = 4 * radius_px
    strip_rows = strip_rows_for(grid.width_px)
    with open_raster_for_writing(target, grid, cut_profile()) as out:
        for row_off in range(0, grid.height_px, strip_rows):
            n_rows = min(strip_rows, grid.height_px - row_off)
            first = max(0, row_off - halo_px)
            last = min(grid.height_px, row_off + n_rows + halo_px)
            values, valid = read_window(probability, first, last - first)
            own = slice(row_off - first, row_off - first + n_rows)
            is_gap = cleaned_gaps(valid & (values >= cutoff), valid, radius_px)
            strip = mask_cells(is_gap[own], valid[own])
            out.write(strip, 1, window=Window(0, row_off, grid.width_px, n_rows))


def _read_rows(dataset: Any, row_off: int, n_rows: int) -> np.ndarray:
    """(n_rows, W) raw band values (no nodata masking)."""
    from rasterio.windows import Window

    return dataset.read(1, window=Window(0, row_off, dataset.width, n_rows))


def label_gap_rasters(
    probability: Any,
    grid: Grid,
    cutoff: float,
    min_gap_area_m2: float,
    work_dir: Path,
    cleanup_radius_px: int = 0,
    max_gap_area_m2: float | None = None,
    n_threads: int = 0,
    dsm: Any = None,
) -> GapRasters:
    """The gaps of a probability raster in memory O(strip + gaps), the ids written to ``work_dir``.

    Args:
        probability: open rasterio dataset of probabilities 0..1 on ``grid``.
        grid: its grid (metric).
        cutoff: a cell is gap when its probability is >= this.
        min_gap_area_m2: smaller patches are dropped (inclusive bound).
        work_dir: existing folder for the temporary cut and ids rasters (the caller
            removes it).
        cleanup_radius_px: opening then closing radius; 0 disables it.
        max_gap_area_m2: larger patches are dropped (inclusive bound); None = no bound.
        n_threads: strips labelled at once, 0 = one per core (the result is the same).
        dsm: open dataset (or view) of the DSM on ``grid``: the per-gap DSM statistics
            are then measured in the labelling's second pass (``GapRasters.statistics``).
    """
    cut_path = work_dir / CUT_FILE
    _write_cut(probability, grid, cutoff, cleanup_radius_px, cut_path)
    return label_cut_raster(
        cut_path, grid, min_gap_area_m2, work_dir, max_gap_area_m2, n_threads, dsm
    )


def label_cut_raster(
    cut_path: Path,
    grid: Grid,
    min_gap_area_m2: float,
    work_dir: Path,
    max_gap_area_m2: float | None = None,
    n_threads: int = 0,
    dsm: Any = None,
) -> GapRasters:
    """The gaps of a cut raster (1 gap, 0 not, 255 nodata), which is then deleted.

    ``predict`` writes the cut while it streams the probabilities (no cleanup, no
    resampling): reading the compressed probabilities back only to cut them cost a tenth
    of a 4096² prediction.

    Args:
        cut_path: uint8 raster on ``grid``; deleted once labelled.
        grid: its grid (metric).
        min_gap_area_m2: smaller patches are dropped (inclusive bound).
        work_dir: existing folder for the temporary ids raster (the caller removes it).
        max_gap_area_m2: larger patches are dropped (inclusive bound); None = no bound.
        n_threads: strips labelled at once, 0 = one per core (the result is the same).
        dsm: open dataset (or view) of the DSM on ``grid``, read in the second pass to
            measure the per-gap DSM statistics (``GapRasters.statistics``); reading the
            ids back for them cost a separate pass. None measures nothing.
    """
    import rasterio

    from forestgaps_engine.inference.strip_labels import label_strips

    strip_rows = strip_rows_for(grid.width_px)
    release_free_heap()
    with rasterio.open(cut_path) as cut:

        def read_gap(row_off: int, n_rows: int) -> np.ndarray:
            return _read_rows(cut, row_off, n_rows) == MASK_GAP

        labelling = label_strips(
            read_gap,
            grid.height_px,
            strip_rows,
            grid.cell_area_m2,
            min_gap_area_m2,
            max_gap_area_m2,
            n_threads,
        )
    (gaps,) = finish_cut_rasters([cut_path], [labelling], grid, [work_dir], n_threads, dsm)
    return gaps


def finish_cut_rasters(
    cut_paths: list[Path],
    labellings: list[Any],
    grid: Grid,
    work_dirs: list[Path],
    n_threads: int = 0,
    dsm: Any = None,
) -> list[GapRasters]:
    """Pass 2 of several thresholds' cuts at once: final ids, figures, the ids rasters.

    Each DSM strip is read once for every threshold, and the strips of every threshold
    are finished in ``n_threads`` threads; each threshold's strips are folded in their
    order, so each result is the one ``label_cut_raster`` gives for that cut alone. The
    cuts are deleted once finished.

    Args:
        cut_paths: uint8 rasters (1 gap, 0 not, 255 nodata) on ``grid``.
        labellings: their pass 1 (``strip_labels.StripLabelling``, strips of
            ``strip_rows_for(grid.width_px)`` rows).
        grid: their grid (metric).
        work_dirs: one existing folder per cut, for its ids raster (the caller removes it).
        n_threads: strips finished at once, 0 = one per core.
        dsm: open dataset (or view) of the DSM on ``grid``, read once per strip for the
            per-gap DSM statistics; None measures nothing.
    """
    import rasterio
    from rasterio.windows import Window

    from forestgaps_engine.geo.raster_io import GAP_ID_PROFILE, open_raster_for_writing

    strip_rows = strip_rows_for(grid.width_px)
    for labelling in labellings:
        if labelling.strip_rows != strip_rows or labelling.height_px != grid.height_px:
            raise ValueError(
                f"labelling of {labelling.height_px} rows in strips of {labelling.strip_rows} "
                f"does not match the grid's {grid.height_px} rows in strips of {strip_rows}"
            )
    release_free_heap()
    n_cuts = len(cut_paths)
    starts = range(0, grid.height_px, strip_rows)
    totals = [StatisticsSum(labelling.n_gaps) for labelling in labellings]
    edges = [np.zeros(labelling.n_gaps + 1, dtype=np.int64) for labelling in labellings]
    n_valid_px = [0] * n_cuts
    last_rows: list[np.ndarray | None] = [None] * n_cuts
    # Temporaries read back by the mask and GDAL's polygonizer: uncompressed.
    profile = dataclasses.replace(GAP_ID_PROFILE, nodata=IDS_NODATA, compress=False)
    ids_paths = [work_dir / IDS_FILE for work_dir in work_dirs]
    with ExitStack() as stack:
        cuts = [stack.enter_context(rasterio.open(path)) for path in cut_paths]
        outs = [
            stack.enter_context(open_raster_for_writing(path, grid, profile)) for path in ids_paths
        ]

        def cut_strips() -> Iterator[tuple[int, tuple[int, int, np.ndarray, Any]]]:
            for index, row_off in enumerate(starts):
                n_rows = min(strip_rows, grid.height_px - row_off)
                dsm_strip = read_window(dsm, row_off, n_rows) if dsm is not None else None
                for which, cut in enumerate(cuts):
                    yield which, (index, row_off, _read_rows(cut, row_off, n_rows), dsm_strip)

        def finish(job: tuple[int, tuple[int, int, np.ndarray, Any]]) -> tuple[int, _FinalStrip]:
            which, strip_job = job
            return which, _final_strip(labellings[which], strip_job)

        for which, strip in ordered_map(finish, cut_strips(), n_threads):
            n_gaps = labellings[which].n_gaps
            n_valid_px[which] += strip.n_valid_px
            totals[which].add(strip.figures)
            edges[which] += strip.edges
            edges[which] += _edges_across(last_rows[which], np.maximum(strip.ids[0], 0), n_gaps)
            last_rows[which] = np.maximum(strip.ids[-1], 0)
            window = Window(0, strip.row_off, grid.width_px, strip.ids.shape[0])
            outs[which].write(strip.ids, 1, window=window)
    results = []
    for which, labelling in enumerate(labellings):
        cut_paths[which].unlink()
        area_m2 = labelling.cell_counts * float(grid.cell_area_m2)
        n_gaps = labelling.n_gaps
        results.append(
            GapRasters(
                ids_path=ids_paths[which],
                grid=grid,
                area_m2=area_m2,
                n_valid_px=n_valid_px[which],
                n_gap_px=int(labelling.cell_counts.sum()),
                statistics=totals[which].statistics(area_m2) if dsm is not None else None,
                boundary_edges=(edges[which] + _edges_across(last_rows[which], None, n_gaps))[1:],
            )
        )
    return results


def _edges_within(ids: np.ndarray, n_gaps: int) -> np.ndarray:
    """Return (n_gaps + 1,) counts of each id's cell sides inside a strip of ids >= 0.

    A side counts where the neighbour differs, plus the raster's left and right borders.
    """
    edges = np.bincount(ids[:, 0], minlength=n_gaps + 1)
    edges += np.bincount(ids[:, -1], minlength=n_gaps + 1)
    for here, there in ((ids[:, 1:], ids[:, :-1]), (ids[1:], ids[:-1])):
        differs = here != there
        edges += np.bincount(here[differs], minlength=n_gaps + 1)
        edges += np.bincount(there[differs], minlength=n_gaps + 1)
    return edges


def _edges_across(above: np.ndarray | None, below: np.ndarray | None, n_gaps: int) -> np.ndarray:
    """Return (n_gaps + 1,) counts of each id's cell sides between two rows of ids >= 0.

    A side counts where the rows differ; a row alone (the other None) is the raster's top or
    bottom border.
    """
    if above is None or below is None:
        return np.bincount(below if above is None else above, minlength=n_gaps + 1)
    differs = above != below
    return np.bincount(above[differs], minlength=n_gaps + 1) + np.bincount(
        below[differs], minlength=n_gaps + 1
    )


def _sorted_by_id(ids: np.ndarray, *values: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(present ids, start of each id's run, *values sorted by id)`` of flat arrays.

    One stable sort by id (a radix sort of integer ids) puts each id's cells in one run,
    in their original order, so that ``ufunc.reduceat(sorted, starts)`` reduces each id
    in linear time.
    """
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    return (sorted_ids[starts], starts, *(value[order] for value in values))


@dataclass(frozen=True)
class _FinalStrip:
    """What pass 2 makes of one cut strip.

    Attributes:
        row_off: its first row.
        ids: (rows, W) int32 final ids, ``IDS_NODATA`` where the cut is nodata.
        n_valid_px: cells that are not nodata.
        figures: the strip's DSM figures (None when no DSM was given).
        edges: (n_gaps + 1,) cell sides of each id within the strip (``_edges_within``).
    """

    row_off: int
    ids: np.ndarray
    n_valid_px: int
    figures: _StripFigures | None
    edges: np.ndarray


def _final_strip(
    labelling: Any,
    job: tuple[int, int, np.ndarray, tuple[np.ndarray, np.ndarray] | None],
) -> _FinalStrip:
    """Pass 2 on one cut strip (and the DSM strip, for the statistics, when given).

    One stable sort of the strip's gap cells by id gives the DSM minima and maxima; the
    sums are row-major ``bincount``s, so the statistics do not depend on the threads.
    """
    strip_index, row_off, cut_rows, dsm_strip = job
    ids = labelling.strip_ids(strip_index, cut_rows == MASK_GAP)
    is_valid = cut_rows != MASK_NODATA
    # Flat indices, and float32 heights: the sort's gathers move 13 bytes a cell, not 25.
    cells = np.flatnonzero(ids > 0)
    figures = None
    if cells.size and dsm_strip is not None:
        gap_ids = ids.ravel()[cells]
        dsm_values, dsm_valid = dsm_strip
        gap_values = dsm_values.ravel()[cells]
        gap_valid = dsm_valid.ravel()[cells]
        present, starts, sorted_values, sorted_valid = _sorted_by_id(
            gap_ids, gap_values, gap_valid
        )
        n_gaps = labelling.n_gaps
        measured_ids = gap_ids[gap_valid]
        # float64 sums, in row-major order.
        measured_values = gap_values[gap_valid].astype(np.float64)
        figures = _StripFigures(
            sums=np.bincount(measured_ids, weights=measured_values, minlength=n_gaps + 1),
            valid_counts=np.bincount(measured_ids, minlength=n_gaps + 1),
            present=present,
            # An id whose cells are all DSM nodata keeps +/-inf: NaN in the statistics.
            lows=np.minimum.reduceat(
                np.where(sorted_valid, sorted_values, np.inf), starts
            ).astype(np.float64),
            highs=np.maximum.reduceat(
                np.where(sorted_valid, sorted_values, -np.inf), starts
            ).astype(np.float64),
        )
    edges = _edges_within(ids, labelling.n_gaps)
    ids[~is_valid] = IDS_NODATA
    return _FinalStrip(row_off, ids, int(np.count_nonzero(is_valid)), figures, edges)


def write_gap_mask(target: Path, gaps: GapRasters, grid: Grid) -> None:
    """Write the gap mask (1 gap, 0 not, 255 nodata) on ``grid`` strip by strip, atomically.

    Cells are taken nearest-neighbour from the ids raster when ``grid`` differs from
    ``gaps.grid``; cells outside it are nodata.
    """
    import rasterio
    from rasterio.windows import Window

    from forestgaps_engine.geo.raster_io import MASK_PROFILE, open_raster_for_writing
    from forestgaps_engine.geo.resample import view_on_grid

    with rasterio.open(gaps.ids_path) as source:
        with view_on_grid(source, gaps.grid, grid, is_mask=True) as view:
            with open_raster_for_writing(target, grid, MASK_PROFILE) as out:
                strip_rows = strip_rows_for(grid.width_px)
                for row_off in range(0, grid.height_px, strip_rows):
                    n_rows = min(strip_rows, grid.height_px - row_off)
                    ids = _read_rows(view, row_off, n_rows)
                    strip = mask_cells(ids > 0, ids != IDS_NODATA)
                    out.write(strip, 1, window=Window(0, row_off, grid.width_px, n_rows))
