"""The reference of an evaluation: CHM (given, or DSM - DTM), DSM and ground on one grid."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forestgaps_engine.errors import ConfigError
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.raster_io import read_band
from forestgaps_engine.geo.warp import chm_from_dsm_dtm, harmonize, warp_to_grid


@dataclass(frozen=True)
class ReferenceSite:
    """Everything the reference provides, on the evaluation grid.

    Attributes:
        site: name shown in the bias table.
        grid: the evaluation grid (the DSM's, or the CHM's without a DSM).
        chm_m: (H, W) float32 canopy height, metres, NaN at nodata.
        valid: (H, W) bool, where the CHM (and the DSM, if any) are valid.
        dsm_m: (H, W) float32 surface elevation, or None without a DSM.
        ground_m: (H, W) ground elevation (the DTM, or DSM - CHM), or None.
        dsm_path: the DSM file (a model predicts from it), or None.
        description: the inputs, for the report.
        paths: the input rasters by role (``dsm``, ``chm``, ``dtm``).
    """

    site: str
    grid: Grid
    chm_m: np.ndarray
    valid: np.ndarray
    dsm_m: np.ndarray | None
    ground_m: np.ndarray | None
    dsm_path: Path | None
    description: str
    paths: dict[str, Path]


def _as_mapping(
    reference: str | Path | tuple[str | Path, str | Path] | Mapping[str, str | Path],
) -> dict[str, Path]:
    if isinstance(reference, Mapping):
        paths = {key: Path(value) for key, value in reference.items() if value is not None}
    elif isinstance(reference, tuple):
        if len(reference) != 2:
            raise ConfigError(
                f"reference tuple must be (dsm, chm), got {len(reference)} items",
                hint="Pass (DSM path, CHM path), or a dict with dsm and chm or dtm.",
            )
        paths = {"dsm": Path(reference[0]), "chm": Path(reference[1])}
    else:
        paths = {"chm": Path(reference)}
    unknown = set(paths) - {"dsm", "chm", "dtm"}
    if unknown or not ({"chm", "dtm"} & set(paths)) or {"chm", "dtm"} <= set(paths):
        raise ConfigError(
            f"reference {sorted(paths)}: expected a CHM, or a DSM with exactly one of CHM/DTM",
            hint="Use --chm CHM.tif, or --dsm DSM.tif with --chm CHM.tif or --dtm DTM.tif.",
        )
    if "dtm" in paths and "dsm" not in paths:
        raise ConfigError(
            "a DTM alone gives no canopy height", hint="Pass --dsm DSM.tif with --dtm DTM.tif."
        )
    return paths


def load_reference(
    reference: str | Path | tuple[str | Path, str | Path] | Mapping[str, str | Path],
    site: str | None = None,
) -> ReferenceSite:
    """Read the reference rasters onto one metric grid (the DSM's when there is one).

    Args:
        reference: a CHM path; a (DSM, CHM) pair; or {"dsm": ..., "chm"/"dtm": ...}.
        site: name of the site (default: the DSM's, else the CHM's file stem).

    Raises:
        ConfigError: an unusable combination of inputs.
        InvalidDataFormatError, EmptyRasterError, CRSMismatchError, DataError: bad rasters.
    """
    paths = _as_mapping(reference)
    bands = harmonize(paths)
    if "dtm" in bands:
        chm = chm_from_dsm_dtm(bands["dsm"], bands["dtm"])
    else:
        chm = bands["chm"]
    dsm = bands.get("dsm")
    valid = chm.valid & (dsm.valid if dsm is not None else True)
    chm_m = np.where(valid, chm.values, np.nan).astype(np.float32)
    dsm_m = None if dsm is None else np.where(valid, dsm.values, np.nan).astype(np.float32)
    if "dtm" in bands:
        ground_m = np.where(valid, bands["dtm"].values, np.nan).astype(np.float32)
    elif dsm_m is not None:
        ground_m = dsm_m - chm_m
    else:
        ground_m = None
    name = site or (paths.get("dsm") or paths.get("chm") or paths["dtm"]).stem
    return ReferenceSite(
        site=name,
        grid=chm.grid,
        chm_m=chm_m,
        valid=valid,
        dsm_m=dsm_m,
        ground_m=ground_m,
        dsm_path=paths.get("dsm"),
        description=", ".join(f"{key.upper()} {path}" for key, path in paths.items()),
        paths=paths,
    )


def read_on_grid(path: str | Path, grid: Grid, is_mask: bool) -> np.ndarray:
    """A prediction raster on the evaluation grid (nearest for masks, bilinear otherwise).

    Returns:
        (H, W) bool gap mask (value 1) when ``is_mask``, else float32 values with NaN at
        nodata (e.g. a probability raster).
    """
    band = read_band(path)
    band = warp_to_grid(band, grid, "nearest" if is_mask else "bilinear")
    if is_mask:
        return band.valid & (band.values == 1)
    return band.values
