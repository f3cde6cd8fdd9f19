"""The gap size-frequency plot of ForestGapR's ``GapSizeFDist``, with both power-law fits.

ForestGapR plots the frequency of each gap size against the size on log-log axes. Here both
exponents that ``summary.json`` reports are drawn over the points as expected frequencies:
Hanel 2017 (continuous, xmin = smallest gap): ``n * c * (l - 1) / xmin * (x / xmin)^-l``;
Asner 2013 (discrete zeta, xmin = 1 m2): ``n * c * x^-l / zeta(l)``, with ``c`` the cell
area (the width of one size step) and ``n`` the number of gaps.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

from forestgaps_engine.files import atomic_path
from forestgaps_engine.gaps.size_law import lambda_asner_2013, lambda_hanel_2017

# Matplotlib is not thread-safe (its mathtext parser for log tick labels fails when two
# threads draw at once, as in the service): every ForestGaps plot draws under this lock.
RENDER_LOCK = threading.Lock()


@contextmanager
def png_figure(target: str | Path, size_in: tuple[float, float]) -> Iterator[Any]:
    """A Matplotlib figure of ``size_in`` inches, saved atomically to ``target`` as PNG.

    Drawn under ``RENDER_LOCK``, without pyplot: no global figure registry to leak or share.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with RENDER_LOCK:
        figure = Figure(figsize=size_in, dpi=100)
        FigureCanvasAgg(figure)
        yield figure
        figure.tight_layout()
        with atomic_path(target) as temp_path:
            figure.savefig(temp_path, format="png")


def size_frequencies(areas_m2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct gap sizes (ascending) and how many gaps have each.

    Args:
        areas_m2: (n,) gap areas in m2.

    Returns:
        (sizes_m2, counts), both (k,).
    """
    sizes_m2, counts = np.unique(np.asarray(areas_m2, dtype=np.float64), return_counts=True)
    return sizes_m2, counts


def write_size_frequency_plot(
    target: str | Path, areas_m2: np.ndarray, title: str = "Gap size-frequency distribution"
) -> Path:
    """Write the size-frequency PNG (log-log points and both fitted power laws), atomically.

    Args:
        target: the .png path.
        areas_m2: (n,) gap areas in m2 (may be empty: the plot then says so).
        title: the plot title.

    Returns:
        ``target``.
    """
    areas = np.asarray(areas_m2, dtype=np.float64).ravel()
    with png_figure(target, (6.0, 4.5)) as figure:
        axes = figure.add_subplot(1, 1, 1)
        axes.set_title(title)
        axes.set_xlabel("Gap size (m²)")
        axes.set_ylabel("Frequency")
        if areas.size == 0:
            axes.text(0.5, 0.5, "no gap", ha="center", va="center", transform=axes.transAxes)
        else:
            sizes_m2, counts = size_frequencies(areas)
            axes.scatter(sizes_m2, counts, s=12, color="black", label=f"{areas.size} gaps")
            step_m2 = float(np.min(np.diff(sizes_m2))) if sizes_m2.size > 1 else float(sizes_m2[0])
            curve_m2 = np.geomspace(sizes_m2[0], sizes_m2[-1], 200)
            hanel = lambda_hanel_2017(areas)
            if hanel is not None:
                density = (hanel - 1.0) / sizes_m2[0] * (curve_m2 / sizes_m2[0]) ** -hanel
                axes.plot(curve_m2, areas.size * step_m2 * density, color="tab:blue",
                          label=f"Hanel 2017: λ = {hanel:.4f}")  # fmt: skip
            asner = lambda_asner_2013(areas)
            if asner is not None:
                density = curve_m2**-asner / special.zeta(asner, 1)
                axes.plot(curve_m2, areas.size * step_m2 * density, color="tab:red", linestyle="--",
                          label=f"Asner 2013: λ = {asner:.4f}")  # fmt: skip
            axes.set_xscale("log")
            axes.set_yscale("log")
            axes.set_ylim(bottom=0.5)
            axes.legend(loc="upper right")
    return Path(target)
