"""The coarse terrain prior at prediction time: checked against the model, read on its grid.

A DEM in any CRS and at any cell size is viewed through a GDAL WarpedVRT on the grid the
model predicts on (bilinear, ``resample.view_on_grid``) and read window by window beside
the DSM. Small voids in the DEM inside a window take the nearest valid height; a DEM
missing under a larger share of a window's DSM cells does not cover the DSM (an error).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.data.fill import fill_nodata_nearest
from forestgaps_engine.errors import DataError, InferenceError, ModelError
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.inference.model_source import torch_available
from forestgaps_engine.models import card as model_card

FLAG = "--terrain-prior"
# DEM voids (water, radar shadow) under at most this share of a window's DSM cells take
# the nearest height; more means the DEM does not cover the DSM.
MAX_UNCOVERED_SHARE = 0.1


def model_label(loaded: Any) -> str:
    """How errors name a model: its folder, then its id."""
    card = loaded.card
    name = Path(str(loaded.path)).name or str(loaded.path)
    return f"{name} ({card.model_id})" if card.model_id else name


def model_for_prior(model: Any, terrain_prior: str | Path | None) -> Any:
    """The model to run: ``"default"`` with a DEM is the bundled terrain-prior model.

    The default model sees the DSM alone; a forester who also has a coarse DEM gets the
    bundled model trained with one (``resources/models/terrain``) when it is installed.
    Any other model, or no DEM, is returned as given.
    """
    if terrain_prior is None or str(model) != "default":
        return model
    # The terrain model runs on PyTorch only (a prior band is not exported yet).
    folder = model_card.DEFAULT_TERRAIN_MODEL_DIR
    if not (folder / model_card.CARD_FILE).is_file() or not torch_available():
        return model
    return folder


def check_terrain_prior(loaded: Any, terrain_prior: str | Path | None) -> None:
    """Refuse a prior the model cannot use, and a missing prior the model needs.

    Args:
        loaded: ``InferenceModel`` or ``LoadedModel`` (its card says ``uses_terrain_prior``).
        terrain_prior: the DEM given by the user, or None.

    Raises:
        ModelError: the two do not match.
    """
    uses_prior = bool(getattr(loaded.card, "uses_terrain_prior", False))
    if terrain_prior is not None and not uses_prior:
        raise ModelError(
            f"model {model_label(loaded)} was trained without a terrain prior; omit "
            f"{FLAG} or use a model trained with one",
            hint=f"Run without {FLAG} {terrain_prior}, or pass --model with a model whose "
            "card reads uses_terrain_prior: true.",
        )
    if terrain_prior is None and uses_prior:
        raise ModelError(
            f"model {model_label(loaded)} was trained with a terrain prior and needs one; "
            f"pass {FLAG} DEM.tif or use a model trained without one",
            hint="Any coarse elevation model covering the DSM will do (a national 5-25 m "
            "DEM or a global 30 m one), in any CRS.",
        )


# The prior travels as a second input band, which only the eager network takes so far:
# exported graphs and the calibration tiles have one band.
PRIOR_BACKENDS = ("torch", "torch_compile")


def prior_backend_name(backend: str) -> str:
    """The backend a run with a terrain prior uses: ``auto`` is ``torch``.

    Raises:
        InferenceError: an ONNX Runtime or OpenVINO backend was asked for.
    """
    if backend == "auto":
        return "torch"
    if backend not in PRIOR_BACKENDS:
        raise InferenceError(
            f"backend {backend} cannot take a terrain prior yet",
            hint=f"Use --backend auto or torch with {FLAG}.",
        )
    return backend


@contextmanager
def open_prior_on_grid(path: str | Path, target: Grid, dsm_path: str | Path) -> Iterator[Any]:
    """The DEM at ``path`` read on ``target`` (bilinear), as a rasterio dataset.

    Raises:
        InvalidDataFormatError: not a single-band raster.
        CRSMismatchError: the DEM has no CRS.
        DataError: the DEM does not overlap the DSM.
    """
    from forestgaps_engine.errors import CRSMismatchError
    from forestgaps_engine.geo.raster_io import grid_of, open_single_band
    from forestgaps_engine.geo.resample import view_on_grid
    from forestgaps_engine.geo.warp import bounds_in, bounds_overlap

    with open_single_band(path) as dem:
        grid = grid_of(dem)
        if grid.crs is None:
            raise CRSMismatchError(
                f"{path}: the terrain prior has no CRS, so it cannot be placed on {dsm_path}",
                hint=f"Set it with gdal_edit.py -a_srs EPSG:XXXX {path}.",
            )
        if not bounds_overlap(bounds_in(grid, target.crs), target.bounds):
            raise DataError(
                f"{path}: the terrain prior does not overlap {dsm_path}",
                hint=f"Pass a DEM that covers the DSM to {FLAG}.",
            )
        with view_on_grid(dem, grid, target) as view:
            yield view


def filled_prior(
    prior_values: np.ndarray, prior_valid: np.ndarray, dsm_valid: np.ndarray, source: Any
) -> np.ndarray:
    """(N, 1, h, w) prior heights with DEM holes filled by the nearest valid height.

    Args:
        prior_values: (N, 1, h, w) DEM heights on the windows, metres.
        prior_valid: (N, 1, h, w) bool.
        dsm_valid: (N, 1, h, w) bool, the DSM's cells with data.
        source: the prior's dataset (its name goes into the error).

    Raises:
        DataError: the DEM has no data under more than ``MAX_UNCOVERED_SHARE`` of a
            window's DSM cells (voids smaller than that are filled).
    """
    filled, _model_valid = fill_nodata_nearest(prior_values, prior_valid)
    n_windows = len(filled)
    missing = (dsm_valid & ~prior_valid).reshape(n_windows, -1).sum(axis=1)
    with_data = np.maximum(dsm_valid.reshape(n_windows, -1).sum(axis=1), 1)
    if (missing > MAX_UNCOVERED_SHARE * with_data).any():
        # A warped view names its file through the dataset it reads.
        name = getattr(getattr(source, "src_dataset", source), "name", None) or "terrain prior"
        raise DataError(
            f"{name}: the terrain prior has no data over part of the DSM",
            hint=f"Pass a DEM that covers the whole DSM to {FLAG}.",
        )
    return np.where(np.isfinite(filled), filled, np.float32(0.0)).astype(np.float32)
