"""The K and L plot of ForestGapR's ``GapsSpatPattern``: two panels, as spatstat draws an envelope.

Each panel shows the grey band between the CSR envelope's low and high curves, the observed
curve in solid black and the theoretical CSR curve in dashed red, against r in metres.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forestgaps_engine.gaps.pattern import RipleyCurves
from forestgaps_engine.gaps.size_plot import png_figure


def write_pattern_plot(target: str | Path, curves: RipleyCurves, title: str = "") -> Path:
    """Write the K (left) and L (right) panels as a PNG, atomically.

    Args:
        target: the .png path.
        curves: K curves and envelopes from ``ripley_envelope``.
        title: a line above both panels (e.g. the input file).

    Returns:
        ``target``.
    """
    panels = (("K", "K(r)", lambda k: k), ("L", "L(r)", RipleyCurves.l_of))
    r_m = curves.r_m
    envelope = f"CSR envelope ({curves.n_simulations} sims)"
    with png_figure(target, (10.0, 4.5)) as figure:
        for index, (name, ylabel, transform) in enumerate(panels, start=1):
            axes = figure.add_subplot(1, 2, index)
            axes.fill_between(r_m, transform(curves.k_low), transform(curves.k_high),
                              color="0.8", label=envelope)  # fmt: skip
            axes.plot(r_m, transform(curves.k_observed), color="black", label="observed")
            axes.plot(r_m, transform(curves.k_theoretical), color="red", linestyle="--",
                      label="theoretical (CSR)")  # fmt: skip
            axes.set(title=name, xlabel="r (m)", ylabel=ylabel, xlim=(0.0, float(np.max(r_m))))
            axes.legend(loc="upper left", fontsize="small")
        if title:
            figure.suptitle(title)
    return Path(target)
