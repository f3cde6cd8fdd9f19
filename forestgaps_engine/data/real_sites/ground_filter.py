"""Ground classification of an unclassified cloud with the cloth simulation filter (CSF).

CSF (Zhang et al. 2016, ``cloth-simulation-filter`` on PyPI, Apache-2.0) drops a cloth
onto the inverted cloud; points within ``class_threshold_m`` of the settled cloth are
ground. PDAL (SMRF) has no Debian package and no wheel here, so CSF is the library used.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from forestgaps_engine.errors import require_package

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "Install the ground filter: pip install 'forestgaps[lidar]' (cloth-simulation-filter), "
    "or classify ground first (lidR classify_ground, PDAL filters.smrf)."
)


@dataclass(frozen=True)
class CsfSettings:
    """CSF parameters.

    Attributes:
        cloth_resolution_m: spacing of the cloth's particles, metres.
        class_threshold_m: points within this height of the cloth are ground, metres.
        steep_slopes: a soft cloth (rigidness 1) with slope post-processing, for relief
            like La Réunion's (48 m over 50 m); False: a stiff cloth (rigidness 3) for
            flat ground.
    """

    cloth_resolution_m: float = 0.5
    class_threshold_m: float = 0.5
    steep_slopes: bool = True


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence CSF's C++ progress lines (written to file descriptor 1, not sys.stdout)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w", encoding="utf-8") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def classify_ground_csf(xyz_m: np.ndarray, settings: CsfSettings, source: str) -> np.ndarray:
    """Which points are ground, by CSF.

    Args:
        xyz_m: (N, 3) float64 coordinates in metres (X east, Y north, Z up).
        settings: cloth parameters.
        source: the cloud's file name, for messages.

    Returns:
        (N,) bool, True for ground points.

    Raises:
        ConfigError: the ``cloth-simulation-filter`` package is not installed.
    """
    csf = require_package(
        "CSF", f"{source}: the cloud has no ground point; its ground filter", INSTALL_HINT,
        "CSF (cloth-simulation-filter)",
    )  # fmt: skip
    # Local coordinates: the cloth grid works in float precision around the origin.
    local = np.ascontiguousarray(xyz_m - xyz_m.min(axis=0), dtype=np.float64)
    cloth = csf.CSF()
    cloth.params.cloth_resolution = float(settings.cloth_resolution_m)
    cloth.params.class_threshold = float(settings.class_threshold_m)
    cloth.params.rigidness = 1 if settings.steep_slopes else 3
    cloth.params.bSloopSmooth = bool(settings.steep_slopes)
    cloth.setPointCloud(local)
    ground, off_ground = csf.VecInt(), csf.VecInt()
    with _quiet_stdout():
        cloth.do_filtering(ground, off_ground, False)
    is_ground = np.zeros(len(local), dtype=bool)
    is_ground[np.asarray(ground, dtype=np.int64)] = True
    logger.info(
        "%s: CSF classified %d of %d points as ground (cloth %g m, threshold %g m)",
        source,
        int(is_ground.sum()),
        len(local),
        settings.cloth_resolution_m,
        settings.class_threshold_m,
    )
    return is_ground
