"""The two dates of a gap comparison, brought onto one grid.

Inputs are two CHMs (classic detector), two DSMs with a DTM each (CHM = DSM - DTM, then
the classic detector), or two DSMs alone (the model predicts each date's gap mask). The
rasters may differ in grid and CRS: both are warped onto one grid, by default the finer
of the two (the first date's on a tie), with the engine's ``harmonize``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from forestgaps_engine.errors import ConfigError, CRSMismatchError
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.raster_io import Band, grid_of, open_single_band
from forestgaps_engine.geo.warp import chm_from_dsm_dtm, harmonize, metric_grid_for

logger = logging.getLogger(__name__)

GridChoice = Literal["finer", "before", "after"]
GRID_CHOICES: tuple[str, ...] = ("finer", "before", "after")
InputKind = Literal["chm", "dsm"]
INPUT_KINDS: tuple[str, ...] = ("chm", "dsm")


@dataclass(frozen=True)
class DateInputs:
    """What the user gave for the two dates (paths as given).

    Attributes:
        before: first-date raster (CHM, or DSM when ``kind`` is ``"dsm"``).
        after: second-date raster of the same kind.
        kind: ``"chm"`` or ``"dsm"``.
        before_dtm: first-date DTM (DSM input only; without DTMs the model is used).
        after_dtm: second-date DTM.
        crs: CRS to assign to inputs that store none.
    """

    before: Path
    after: Path
    kind: InputKind = "chm"
    before_dtm: Path | None = None
    after_dtm: Path | None = None
    crs: str | None = None

    @property
    def uses_model(self) -> bool:
        """DSMs without DTMs: the model predicts the gaps of each date."""
        return self.kind == "dsm" and self.before_dtm is None

    def check(self) -> None:
        """Raise ConfigError for a kind unknown or DTMs given for only one date or for CHMs."""
        if self.kind not in INPUT_KINDS:
            raise ConfigError(
                f"input kind {self.kind!r} is not one of {INPUT_KINDS}",
                hint="Use --input chm (canopy heights) or --input dsm (surface elevations).",
            )
        has_dtms = (self.before_dtm is not None, self.after_dtm is not None)
        if self.kind == "chm" and any(has_dtms):
            raise ConfigError(
                f"{self.before}: DTMs were given but the inputs are CHMs",
                hint="Add --input dsm when BEFORE and AFTER are DSMs, or drop --dtm.",
            )
        if has_dtms[0] != has_dtms[1]:
            raise ConfigError(
                "a DTM was given for one date only",
                hint="Give --dtm twice, the first date's DTM then the second's.",
            )


@dataclass(frozen=True)
class HarmonisedDates:
    """Both dates on one grid.

    Attributes:
        before: first-date heights (CHM; DSM elevations on the model route), metres.
        after: second-date heights on the same grid.
        grid: the shared grid.
        grid_source: ``"before"`` or ``"after"``: whose grid it is.
        message: one sentence saying what was done to the grids.
    """

    before: Band
    after: Band
    grid: Grid
    grid_source: str
    message: str


def _grid(path: Path, crs: str | None) -> Grid:
    with open_single_band(path) as dataset:
        return grid_of(dataset, crs)


def _describe(grid: Grid) -> str:
    res_x, res_y = grid.resolution_m
    size = f"{res_x:g} m" if res_x == res_y else f"{res_x:g} x {res_y:g} m"
    return f"{size} cells, {grid.width_px} x {grid.height_px} px, CRS {grid.crs or 'none'}"


def choose_grid(before: Grid, after: Grid, choice: GridChoice) -> tuple[str, Grid]:
    """Which date's grid both dates go onto: ``"finer"`` picks the smaller cells.

    Raises:
        ConfigError: ``choice`` is not one of ``GRID_CHOICES``.
    """
    if choice not in GRID_CHOICES:
        raise ConfigError(
            f"grid choice {choice!r} is not one of {GRID_CHOICES}",
            hint="Use --grid finer, --grid before or --grid after.",
        )
    if choice == "finer":
        choice = "after" if after.cell_area_m2 < before.cell_area_m2 else "before"
    return choice, before if choice == "before" else after


def harmonise_dates(inputs: DateInputs, grid_choice: GridChoice = "finer") -> HarmonisedDates:
    """Read both dates and put them on one metric grid.

    Args:
        inputs: the rasters of both dates.
        grid_choice: ``"finer"`` (default), ``"before"`` or ``"after"``.

    Returns:
        Both dates' heights on the chosen grid (CHMs; DSMs on the model route).

    Raises:
        ConfigError: inconsistent inputs.
        CRSMismatchError: one raster has a CRS and the other none, or they do not overlap.
        InvalidDataFormatError, EmptyRasterError, DataError: a bad raster.
    """
    inputs.check()
    crs = inputs.crs
    before_grid, after_grid = _grid(inputs.before, crs), _grid(inputs.after, crs)
    if (before_grid.crs is None) != (after_grid.crs is None):
        with_crs, without = (
            (inputs.before, inputs.after) if before_grid.crs else (inputs.after, inputs.before)
        )
        raise CRSMismatchError(
            f"{with_crs} has CRS {before_grid.crs or after_grid.crs} but {without} has none",
            hint=f"Give {without} its CRS (gdal_edit.py -a_srs EPSG:XXXX), or pass --crs when "
            "both lack one.",
        )
    source, chosen = choose_grid(before_grid, after_grid, grid_choice)
    target = metric_grid_for(chosen)
    suffix = "chm" if inputs.kind == "chm" else "dsm"
    paths: dict[str, Path] = {
        f"before_{suffix}": inputs.before,
        f"after_{suffix}": inputs.after,
    }
    if inputs.before_dtm is not None and inputs.after_dtm is not None:
        paths["before_dtm"] = inputs.before_dtm
        paths["after_dtm"] = inputs.after_dtm
    overrides = {key: crs for key in paths} if crs else None
    bands = harmonize(paths, target=target, crs_overrides=overrides)
    if inputs.kind == "chm" or inputs.uses_model:
        before, after = bands[f"before_{suffix}"], bands[f"after_{suffix}"]
    else:
        before = chm_from_dsm_dtm(bands["before_dsm"], bands["before_dtm"])
        after = chm_from_dsm_dtm(bands["after_dsm"], bands["after_dtm"])
    other = inputs.after if source == "before" else inputs.before
    if before_grid.same_cells(after_grid) and target.same_cells(before_grid):
        message = f"both dates share one grid ({_describe(target)})"
    else:
        why = "the finer one" if grid_choice == "finer" else f"--grid {grid_choice}"
        message = (
            f"the dates differ in grid ({_describe(before_grid)} before, "
            f"{_describe(after_grid)} after); both are on the {source} grid ({why}): "
            f"{_describe(target)}, {other} resampled bilinearly"
        )
    logger.info("%s", message)
    return HarmonisedDates(before, after, target, source, message)
