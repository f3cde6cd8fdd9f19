"""The few R numerics ForestGapR's outputs depend on, reimplemented for exact agreement.

- ``r_round``: R (>= 4.0) ``round(x, digits)``, which picks the nearer of the two decimal
  candidates computed in double precision (ties to the even last digit), so values such as
  0.285 round the way R prints them rather than the way ``numpy.round`` does.
- ``r_number``: how ``write.csv`` prints a double (15 significant digits, trailing zeros
  dropped, fixed notation unless scientific is strictly shorter).
- ``brent_minimize``: R's ``optimize`` (Brent's 1973 ``localmin``), whose stopping point,
  not only the true minimum, is what ForestGapR reports as the Asner exponent.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

DBL_DIG = 15
LOG10_2 = math.log10(2.0)


def r_round(values: np.ndarray, digits: int) -> np.ndarray:
    """R's ``round(values, digits)`` for ``digits`` >= 1, element-wise; NaN stays NaN.

    Args:
        values: any-shape float array.
        digits: decimal places.

    Returns:
        float64 array of the same shape.
    """
    x = np.asarray(values, dtype=np.float64)
    sign = np.where(x < 0, -1.0, 1.0)
    magnitude = np.abs(x)
    pow10 = 10.0**digits
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        scaled = magnitude * pow10
        low_digits = np.floor(scaled)
        down = low_digits / pow10
        up = np.ceil(scaled) / pow10
        dist_up = up - magnitude
        dist_down = magnitude - down
        is_up = (dist_up < dist_down) | ((dist_up == dist_down) & (np.fmod(low_digits, 2.0) == 1))
        rounded = sign * np.where(is_up, up, down)
        # Already finer than 15 significant digits can express: R returns x unchanged.
        is_too_fine = digits + (np.floor(np.log2(magnitude)) + 0.5) * LOG10_2 > DBL_DIG
    keep_as_is = ~np.isfinite(x) | (x == 0) | is_too_fine
    return np.where(keep_as_is, x, rounded)


def r_number(value: float) -> str:
    """Format one double the way R's ``write.csv`` does (NaN as ``NA``).

    Examples:
        ``34.0 -> "34"``, ``9.220000267028809 -> "9.22000026702881"``,
        ``100000.0 -> "1e+05"``, ``nan -> "NA"``.
    """
    if math.isnan(value):
        return "NA"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    mantissa, exponent_text = f"{value:.{DBL_DIG - 1}e}".split("e")
    significant = len(mantissa.replace("-", "").replace(".", "").rstrip("0")) or 1
    exponent = int(exponent_text)
    fixed = f"{value:.{max(0, significant - exponent - 1)}f}"
    scientific = f"{value:.{significant - 1}e}"
    return fixed if len(fixed) <= len(scientific) else scientific


def brent_minimize(
    function: Callable[[float], float],
    lower: float,
    upper: float,
    tolerance: float = float(np.finfo(np.float64).eps) ** 0.25,
) -> float:
    """Minimise a one-dimensional function on [lower, upper] as R's ``optimize`` does.

    Golden-section search combined with parabolic interpolation (Brent 1973, ``localmin``);
    the default tolerance is R's ``.Machine$double.eps^0.25``.

    Args:
        function: the function to minimise.
        lower: left end of the interval.
        upper: right end of the interval.
        tolerance: absolute tolerance on the abscissa.

    Returns:
        The abscissa where the search stopped.
    """
    golden = (3.0 - math.sqrt(5.0)) * 0.5
    sqrt_eps = math.sqrt(float(np.finfo(np.float64).eps))
    a, b = lower, upper
    x = w = v = a + golden * (b - a)
    fx = fw = fv = function(x)
    step = previous_step = 0.0
    tol3 = tolerance / 3.0
    while True:
        middle = (a + b) * 0.5
        tol1 = sqrt_eps * abs(x) + tol3
        tol2 = tol1 * 2.0
        if abs(x - middle) <= tol2 - (b - a) * 0.5:
            return x
        p = q = r = 0.0
        if abs(previous_step) > tol1:
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = (q - r) * 2.0
            if q > 0.0:
                p = -p
            else:
                q = -q
            r = previous_step
            previous_step = step
        if abs(p) >= abs(q * 0.5 * r) or p <= q * (a - x) or p >= q * (b - x):
            previous_step = (b - x) if x < middle else (a - x)
            step = golden * previous_step
        else:
            step = p / q
            u = x + step
            # Never evaluate too close to the interval ends.
            if u - a < tol2 or b - u < tol2:
                step = tol1 if x < middle else -tol1
        if abs(step) >= tol1:
            u = x + step
        elif step > 0.0:
            u = x + tol1
        else:
            u = x - tol1
        fu = function(u)
        if fu <= fx:
            if u < x:
                b = x
            else:
                a = x
            v, w, x = w, x, u
            fv, fw, fx = fw, fx, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv = w, fw
                w, fw = u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu
