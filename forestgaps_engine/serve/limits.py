"""What a ``/predict`` request will cost, checked before any work starts.

The cost is set by the grids ``predict`` will use, not by the upload: a DSM with cells
coarser than the model's is warped onto the model's cell size (100 m cells at 2 m make
2500 times the pixels), and the gap tables and polygons grow with the number of gaps.
Both are bounded here from the upload's header, the model card and the options, with
the engine's own resolution decision (``inference.resample.working_grid``).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

import numpy as np

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.geo.crs import is_geographic
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.serve.errors import ServiceError

# Rows decoded at once by check_readable (float32 rows of the widest accepted raster).
READ_CHUNK_BYTES = 16 * 2**20


@dataclass(frozen=True)
class RequestPlan:
    """The grids one prediction will use.

    Attributes:
        input_grid: the uploaded raster's grid.
        model_grid: the grid the model runs on (``input_grid`` when not resampled).
        gap_grid: the grid gaps are labelled on (the model grid for a geographic input,
            else the input grid).
    """

    input_grid: Grid
    model_grid: Grid
    gap_grid: Grid

    @property
    def mpix(self) -> float:
        """Megapixels of the larger of the input and model grids."""
        return max(_mpix(self.input_grid), _mpix(self.model_grid))


def _mpix(grid: Grid) -> float:
    return grid.width_px * grid.height_px / 1e6


def plan_request(input_grid: Grid, card: Any, inference: InferenceConfig, name: str) -> RequestPlan:
    """The grids ``predict`` will use for ``input_grid`` with this model and options."""
    from forestgaps_engine.geo.resample import native_range_m, working_grid

    native = native_range_m(card) if inference.native_resolutions else None
    # Not logged here: predict says which grid it runs on once the work starts.
    model_grid = working_grid(input_grid, card.resolution_m, name, native, is_logged=False)
    gap_grid = model_grid if is_geographic(input_grid.crs) else input_grid
    return RequestPlan(input_grid, model_grid, gap_grid)


def check_grid_size(plan: RequestPlan, name: str, max_mpix: float) -> None:
    """Refuse a request whose input or model grid is over ``max_mpix`` megapixels.

    Raises:
        ServiceError: 413 naming both grids when the model grid is resampled.
    """
    if plan.mpix <= max_mpix:
        return
    grid, model = plan.input_grid, plan.model_grid
    size = f"{grid.width_px} x {grid.height_px} px ({_mpix(grid):.1f} MPix)"
    if not model.same_cells(grid):
        cell, model_cell_m = grid.resolution_m[0], model.resolution_m[0]
        unit = " degree" if is_geographic(grid.crs) else " m"
        size = (
            f"its {cell:g}{unit} cells are resampled to the model's {model_cell_m:g} m, a "
            f"{model.width_px} x {model.height_px} px grid ({_mpix(model):.1f} MPix)"
        )
    scale = math.sqrt(max_mpix / plan.mpix)
    part_m = (
        min(grid.width_px * abs(grid.resolution_m[0]), grid.height_px * abs(grid.resolution_m[1]))
        * scale
    )
    raise ServiceError(
        413,
        f"{name}: {size}, over the {max_mpix:g} MPix limit",
        f"Clip the raster into parts of about {part_m:.0f} x {part_m:.0f} "
        f"{'degrees' if is_geographic(grid.crs) else 'm'}, or raise serve.max_input_mpix.",
    )


def max_gap_count(width_px: int, height_px: int, min_cells: int) -> int:
    """Most 8-connected gaps of at least ``min_cells`` cells a grid can hold.

    Two such gaps touch no common cell once each is grown by one cell right, down and
    diagonally, and a gap of k cells spanning r rows and c columns grows to at least
    k + r + c + 1 >= k + 2 sqrt(k) + 1 cells; all fit in (W + 1)(H + 1). One-cell gaps
    also fit at most one per 2 x 2 block.
    """
    min_cells = max(1, int(min_cells))
    grown = (math.sqrt(min_cells) + 1.0) ** 2
    by_area = int((width_px + 1) * (height_px + 1) // grown)
    by_blocks = math.ceil(width_px / 2) * math.ceil(height_px / 2)
    return min(by_area, by_blocks)


def check_gap_count(plan: RequestPlan, name: str, min_gap_area_m2: float, max_gaps: int) -> None:
    """Refuse a request whose gap grid could hold more than ``max_gaps`` gaps a threshold.

    Raises:
        ServiceError: 413 naming the bound, the limit and the ``min_gap_area_m2`` that fits.
    """
    grid = plan.gap_grid
    cell_area_m2 = grid.cell_area_m2
    # Gaps of exactly min_gap_area_m2 are kept; a tiny margin absorbs float noise.
    min_cells = max(1, math.ceil(min_gap_area_m2 / cell_area_m2 - 1e-9))
    bound = max_gap_count(grid.width_px, grid.height_px, min_cells)
    if bound <= max_gaps:
        return
    # The bound falls as the area grows: the smallest number of cells that fits.
    needed = 1 + bisect_left(
        range(1, grid.width_px * grid.height_px), True,
        key=lambda cells: max_gap_count(grid.width_px, grid.height_px, cells) <= max_gaps,
    )  # fmt: skip
    needed_m2 = needed * cell_area_m2
    raise ServiceError(
        413,
        f"{name}: its {grid.width_px} x {grid.height_px} px grid could hold up to {bound} gaps "
        f"per threshold with min_gap_area_m2={min_gap_area_m2:g}, over the "
        f"{max_gaps} gap limit",
        f"Send min_gap_area_m2={needed_m2:g} (or more), clip the raster into smaller parts, "
        "or raise serve.max_gaps_per_threshold.",
    )


def check_readable(dataset: Any, name: str) -> None:
    """Decode every cell once, so a truncated or corrupt file is a 400 before work starts.

    Raises:
        InvalidDataFormatError: a block cannot be read.
    """
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.windows import Window

    from forestgaps_engine.errors import InvalidDataFormatError

    width_px, height_px = dataset.width, dataset.height
    row_bytes = width_px * np.dtype(dataset.dtypes[0]).itemsize
    rows = max(1, READ_CHUNK_BYTES // max(1, row_bytes))
    with rasterio.Env(GDAL_CACHEMAX=READ_CHUNK_BYTES):
        for row_off in range(0, height_px, rows):
            n_rows = min(rows, height_px - row_off)
            try:
                dataset.read(1, window=Window(0, row_off, width_px, n_rows))
            except RasterioIOError as error:
                reason = str(error).split(": ")[-1].strip() or "read error"
                raise InvalidDataFormatError(
                    f"{name}: rows {row_off}-{row_off + n_rows - 1} cannot be read, the file is "
                    f"truncated or corrupt (GDAL: {reason})",
                    hint="Upload the complete file again; check it opens with gdalinfo -checksum.",
                ) from None
