"""Gap events between two dates: which gaps formed, grew, closed or stayed.

Gaps are matched by overlap of their cells:

- ``new``: a gap of the second date that overlaps no gap of the first (formation);
- ``expansion``: a gap of the second date that overlaps gaps of the first and is larger
  than all of them together;
- ``persistent``: a gap of the second date that overlaps gaps of the first and is not
  larger than them (it kept or lost area);
- ``closure``: a gap of the first date that overlaps no gap of the second (recovery).

A first-date gap split into several second-date gaps counts whole in each of them, so
``area_before_m2`` says how much gap the event grew out of, not a share of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.vectorize import LabelLayerWriter

EVENT_KINDS = ("new", "expansion", "persistent", "closure")


@dataclass(frozen=True)
class GapEvents:
    """One row per event, all arrays shape (n,).

    Attributes:
        kind: event kind, one of ``EVENT_KINDS`` (object array of str).
        gap_id_after: gap id of the second date (0 for a closure).
        gap_id_before: first-date gap ids the event overlaps, "3;7" (empty for a new gap),
            or the closed gap's id.
        area_before_m2: area of the overlapped first-date gaps (of the closed gap).
        area_after_m2: area of the second-date gap (0 for a closure).
        new_area_m2: cells of the second-date gap that were not gap before, m2.
    """

    kind: np.ndarray
    gap_id_after: np.ndarray
    gap_id_before: np.ndarray
    area_before_m2: np.ndarray
    area_after_m2: np.ndarray
    new_area_m2: np.ndarray

    def count(self, kind: str) -> int:
        """Number of events of ``kind``."""
        return int(np.count_nonzero(self.kind == kind))


def gap_events(before_ids: np.ndarray, after_ids: np.ndarray, cell_area_m2: float) -> GapEvents:
    """Match the gaps of two dates into events.

    Args:
        before_ids: (H, W) int gap ids 1..n of the first date, 0 = no gap.
        after_ids: (H, W) int gap ids 1..m of the second date on the same grid.
        cell_area_m2: area of one cell.

    Returns:
        Events of the second-date gaps in id order, then closures in first-date id order.
    """
    before = np.asarray(before_ids, dtype=np.int64).ravel()
    after = np.asarray(after_ids, dtype=np.int64).ravel()
    n_before = int(before.max()) if before.size else 0
    n_after = int(after.max()) if after.size else 0
    cells_before = np.bincount(before, minlength=n_before + 1)
    cells_after = np.bincount(after, minlength=n_after + 1)[1:]
    new_cells = np.bincount(after[(after > 0) & (before == 0)], minlength=n_after + 1)[1:]
    is_overlap = (before > 0) & (after > 0)
    # Unique (after, before) pairs of overlapping ids, sorted by the second-date id.
    pairs = np.unique(np.stack([after[is_overlap], before[is_overlap]], axis=1), axis=0)
    n_matched = np.bincount(pairs[:, 0], minlength=n_after + 1)[1:]
    matched_cells = np.bincount(
        pairs[:, 0], weights=cells_before[pairs[:, 1]], minlength=n_after + 1
    )[1:]
    # Each second-date gap's first-date ids are one run of the sorted pairs.
    matched = np.split(pairs[:, 1], np.cumsum(n_matched))[:-1]
    kinds = np.where(n_matched == 0, "new",
                     np.where(cells_after > matched_cells, "expansion", "persistent"))  # fmt: skip
    closed = np.setdiff1d(np.arange(1, n_before + 1), pairs[:, 1])  # first-date ids, ascending
    no_after = np.zeros(closed.size)
    return GapEvents(
        kind=np.array([*kinds, *["closure"] * closed.size], dtype=object),
        gap_id_after=np.concatenate([np.arange(1, n_after + 1), no_after]).astype(np.int64),
        gap_id_before=np.array([";".join(map(str, ids)) for ids in matched]
                               + [str(gap_id) for gap_id in closed], dtype=object),  # fmt: skip
        area_before_m2=np.concatenate([matched_cells, cells_before[closed]]) * cell_area_m2,
        area_after_m2=np.concatenate([cells_after * cell_area_m2, no_after]),
        new_area_m2=np.concatenate([new_cells * cell_area_m2, no_after]),
    )


def write_events_gpkg(
    target: str | Path,
    layer: str,
    events: GapEvents,
    before_ids: np.ndarray,
    after_ids: np.ndarray,
    grid: Grid,
) -> Path:
    """Write one feature per event atomically, with an R-tree spatial index.

    An event's feature is the second-date gap, or the closed first-date gap; the index
    lets QGIS draw and select large layers fast.

    Args:
        target: the .gpkg path.
        layer: table name (letters, digits, underscore).
        events: from ``gap_events(before_ids, after_ids, ...)``.
        before_ids: (H, W) first-date gap ids.
        after_ids: (H, W) second-date gap ids.
        grid: the shared grid of both.

    Returns:
        ``target``.
    """
    fields = [
        ("event", "TEXT"),
        ("gap_id_after", "INTEGER"),
        ("gap_id_before", "TEXT"),
        ("area_before_m2", "REAL"),
        ("area_after_m2", "REAL"),
        ("new_area_m2", "REAL"),
    ]
    is_closure = events.kind == "closure"
    # Events of the second-date gaps come in their id order, then closures in first-date
    # id order (``gap_events``): each group is one polygonized raster.
    with LabelLayerWriter(target, layer, fields, grid.crs) as writer:
        for rows, ids, labels in (
            (~is_closure, events.gap_id_after[~is_closure], np.asarray(after_ids)),
            (is_closure, events.gap_id_before[is_closure].astype(np.int64), None),
        ):
            if not ids.size:
                continue
            if labels is None:
                labels = np.where(np.isin(before_ids, ids), before_ids, 0)
            columns = {
                "event": events.kind[rows],
                "gap_id_after": [int(i) or None for i in events.gap_id_after[rows]],
                "gap_id_before": [str(i) or None for i in events.gap_id_before[rows]],
                "area_before_m2": events.area_before_m2[rows],
                "area_after_m2": events.area_after_m2[rows],
                "new_area_m2": events.new_area_m2[rows],
            }
            writer.add(labels, ids, columns, grid)
    return Path(target)
