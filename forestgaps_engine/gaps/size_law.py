"""Gap size-frequency exponents as ForestGapR's ``GapSizeFDist`` estimates them.

- ``Hanel_2017``: continuous power law, xmin = the smallest gap, fitted by maximum
  likelihood (``poweRlaw::conpl``). Its MLE has a closed form, 1 + n / sum(log(x / xmin));
  poweRlaw starts L-BFGS-B there and stops within about 3e-8 of it, so the value here is
  the exact optimum and agrees with ForestGapR to about 1e-8 (relative).
- ``Asner_2013``: discrete power law (zeta distribution) with xmin = 1 on the gap areas in
  m2, minimising 2 * sum(-log(x^-lambda / zeta(lambda))) with R's ``optimize`` on
  [1.0001, 20]; the same Brent search is run here, so the stopping point matches.

Both return None when fewer than 2 gaps (or no spread of sizes) leave the fit undefined.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from forestgaps_engine.gaps.r_compat import brent_minimize

ASNER_LAMBDA_RANGE = (1.0001, 20.0)


def _positive_areas(areas_m2: np.ndarray) -> np.ndarray:
    areas = np.asarray(areas_m2, dtype=np.float64).ravel()
    if areas.size and not (np.all(np.isfinite(areas)) and np.all(areas > 0)):
        raise ValueError("gap areas must be finite and > 0 m2")
    return areas


def lambda_hanel_2017(areas_m2: np.ndarray) -> float | None:
    """Continuous power-law exponent with xmin = min(areas), by maximum likelihood.

    Args:
        areas_m2: (n,) gap areas in m2.

    Returns:
        The exponent (> 1), or None with fewer than 2 gaps or when all gaps have one size.
    """
    areas = _positive_areas(areas_m2)
    if areas.size < 2:
        return None
    log_ratio_sum = float(np.sum(np.log(areas / areas.min())))
    if log_ratio_sum <= 0:
        return None
    return 1.0 + areas.size / log_ratio_sum


def lambda_asner_2013(areas_m2: np.ndarray) -> float | None:
    """Discrete power-law (zeta) exponent with xmin = 1, as ForestGapR's "Asner_2013".

    Args:
        areas_m2: (n,) gap areas in m2.

    Returns:
        The exponent in [1.0001, 20], or None with fewer than 2 gaps.
    """
    areas = _positive_areas(areas_m2)
    if areas.size < 2:
        return None
    log_areas = np.log(areas)

    def deviance(exponent: float) -> float:
        # 2 * sum(-log(x^-l / zeta(l))), written in logs so large areas cannot underflow.
        return 2.0 * float(np.sum(exponent * log_areas + math.log(special.zeta(exponent, 1))))

    return brent_minimize(deviance, *ASNER_LAMBDA_RANGE)
