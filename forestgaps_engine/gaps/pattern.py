"""Spatial pattern of gap centres, as ForestGapR's ``GapsSpatPattern`` computes it with spatstat.

- Clark-Evans index ``R = mean nearest-neighbour distance / (1 / (2 sqrt(lambda)))`` with
  ``clarkevans.test``'s default: no edge correction and the asymptotic Z-test against
  complete spatial randomness (CSR), ``SE = sqrt((4 - pi) area / (4 pi)) / n``, two-sided.
  The Donnelly (1978) edge-corrected R for rectangles is reported beside it.
- Ripley's K with the isotropic (Ripley) edge correction, spatstat's default for a
  rectangle: ``K(r) = area / (n (n - 1)) * sum_{i != j} w_ij 1{d_ij <= r}``, ``w_ij`` the
  inverse of the share of the circle around i through j that lies in the window (capped at
  100, as spatstat does); ``L = sqrt(K / pi)``. r runs over 513 values from 0 to
  ``min(short side / 4, sqrt(1000 / (pi lambda)))`` (spatstat's ``rmax.rule``).
- Envelopes: pointwise minimum and maximum over ``n_simulations`` CSR patterns (Poisson with
  the observed intensity in the window, spatstat ``envelope``'s default), seeded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.spatial import cKDTree

N_RADII = 513
MAX_EDGE_WEIGHT = 100.0
Window = tuple[float, float, float, float]  # (left, bottom, right, top)


@dataclass(frozen=True)
class ClarkEvans:
    """Clark-Evans aggregation index and its test against CSR.

    Attributes:
        r_index: R without edge correction (ForestGapR's reported statistic).
        r_donnelly: R with Donnelly's edge correction for rectangles.
        z_score: (observed - expected mean nn distance) / SE.
        p_value: two-sided p-value of the Z-test.
        mean_nn_distance_m: observed mean nearest-neighbour distance.
        expected_nn_distance_m: 1 / (2 sqrt(intensity)).
        n_points: number of points.
    """

    r_index: float
    r_donnelly: float
    z_score: float
    p_value: float
    mean_nn_distance_m: float
    expected_nn_distance_m: float
    n_points: int

    @property
    def pattern(self) -> str:
        """``clustered``, ``regular`` or ``random`` at the 5 % level."""
        if self.p_value >= 0.05:
            return "random"
        return "clustered" if self.r_index < 1 else "regular"


@dataclass(frozen=True)
class RipleyCurves:
    """K and L on a grid of radii, with CSR envelopes; all arrays (N_RADII,).

    Attributes:
        r_m: radii, metres.
        k_observed, k_theoretical, k_low, k_high: K(r) of the pattern, pi r^2, envelope.
        n_simulations: number of CSR patterns in the envelope.
        seed: random seed of the simulations.
    """

    r_m: np.ndarray
    k_observed: np.ndarray
    k_theoretical: np.ndarray
    k_low: np.ndarray
    k_high: np.ndarray
    n_simulations: int
    seed: int

    @staticmethod
    def l_of(k: np.ndarray) -> np.ndarray:
        """L(r) = sqrt(K(r) / pi)."""
        return np.sqrt(np.maximum(k, 0.0) / math.pi)


def _check(points_xy: np.ndarray, window: Window) -> np.ndarray:
    points = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    left, bottom, right, top = window
    if not (right > left and top > bottom):
        raise ValueError(f"window {window} has no area")
    return points


def _area(window: Window) -> float:
    return (window[2] - window[0]) * (window[3] - window[1])


def clark_evans(points_xy: np.ndarray, window: Window) -> ClarkEvans:
    """Clark-Evans R and its Z-test (needs at least 2 points).

    Args:
        points_xy: (n, 2) point coordinates, metres, inside ``window``.
        window: the rectangle of study (left, bottom, right, top).

    Raises:
        ValueError: fewer than 2 points or a window without area.
    """
    points = _check(points_xy, window)
    n_points = len(points)
    if n_points < 2:
        raise ValueError(f"the Clark-Evans index needs at least 2 points, got {n_points}")
    area_m2 = _area(window)
    distances, _ = cKDTree(points).query(points, k=2)
    mean_nn_m = float(np.mean(distances[:, 1]))
    expected_m = 1.0 / (2.0 * math.sqrt(n_points / area_m2))
    standard_error = math.sqrt((4.0 - math.pi) * area_m2 / (4.0 * math.pi)) / n_points
    z_score = (mean_nn_m - expected_m) / standard_error
    perimeter_m = 2.0 * ((window[2] - window[0]) + (window[3] - window[1]))
    donnelly_m = expected_m + (0.0514 + 0.0412 / math.sqrt(n_points)) * perimeter_m / n_points
    return ClarkEvans(
        r_index=mean_nn_m / expected_m,
        r_donnelly=mean_nn_m / donnelly_m,
        z_score=z_score,
        p_value=float(2.0 * stats.norm.sf(abs(z_score))),
        mean_nn_distance_m=mean_nn_m,
        expected_nn_distance_m=expected_m,
        n_points=n_points,
    )


def default_radii(window: Window, n_points: int) -> np.ndarray:
    """Return spatstat's r grid for K: 513 radii from 0 to ``rmax.rule("K", ...)``."""
    width_m, height_m = window[2] - window[0], window[3] - window[1]
    intensity = n_points / _area(window)
    r_max = min(width_m, height_m) / 4.0
    if intensity > 0:
        r_max = min(r_max, math.sqrt(1000.0 / (math.pi * intensity)))
    return np.linspace(0.0, r_max, N_RADII)


def _edge_angle(distance: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Half the angle of the circle of radius r cut off by an edge at ``distance``."""
    return np.where(distance < r, np.arccos(np.minimum(distance / r, 1.0)), 0.0)


def _corner_overlap(dist_a: np.ndarray, dist_b: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Angle counted twice by two adjacent edges' arcs when their corner is in the circle.

    The arcs outside the two edges (2a and 2b) then overlap; their union is
    a + b + pi/2, so a + b - pi/2 was counted twice.
    """
    has_corner = dist_a**2 + dist_b**2 < r**2
    overlap = _edge_angle(dist_a, r) + _edge_angle(dist_b, r) - math.pi / 2.0
    return np.where(has_corner, overlap, 0.0)


def ripley_weights(points: np.ndarray, distances: np.ndarray, window: Window) -> np.ndarray:
    """Ripley's isotropic edge weights for circles around ``points`` of radii ``distances``.

    Args:
        points: (m, 2) centres.
        distances: (m,) radii > 0.
        window: the rectangle.

    Returns:
        (m,) weights >= 1, capped at ``MAX_EDGE_WEIGHT``.
    """
    left, bottom, right, top = window
    x, y = points[:, 0], points[:, 1]
    to_left, to_right, to_bottom, to_top = x - left, right - x, y - bottom, top - y
    r = np.asarray(distances, dtype=np.float64)
    outside = 2.0 * sum(_edge_angle(d, r) for d in (to_left, to_right, to_bottom, to_top))
    for vertical in (to_left, to_right):
        for horizontal in (to_bottom, to_top):
            outside -= _corner_overlap(vertical, horizontal, r)
    inside = np.clip(2.0 * math.pi - outside, 1e-12, None)
    return np.minimum(2.0 * math.pi / inside, MAX_EDGE_WEIGHT)


def ripley_k(points_xy: np.ndarray, window: Window, r_m: np.ndarray) -> np.ndarray:
    """Ripley's K at radii ``r_m`` with the isotropic edge correction.

    Args:
        points_xy: (n, 2) coordinates inside the window.
        window: the rectangle (left, bottom, right, top).
        r_m: (k,) ascending radii.

    Returns:
        (k,) K values; NaN with fewer than 2 points.
    """
    points = _check(points_xy, window)
    n_points = len(points)
    if n_points < 2:
        return np.full(len(r_m), np.nan)
    pairs = cKDTree(points).query_pairs(float(r_m[-1]), output_type="ndarray")
    if len(pairs) == 0:
        return np.zeros(len(r_m))
    first, second = pairs[:, 0], pairs[:, 1]
    distances = np.hypot(*(points[first] - points[second]).T)
    # Ordered pairs: the circle around i through j, and around j through i.
    centres = np.concatenate([points[first], points[second]])
    radii = np.concatenate([distances, distances])
    weights = ripley_weights(centres, radii, window)
    order = np.argsort(radii, kind="stable")
    cumulative = np.concatenate([[0.0], np.cumsum(weights[order])])
    counted = np.searchsorted(radii[order], r_m, side="right")
    return _area(window) / (n_points * (n_points - 1)) * cumulative[counted]


def ripley_envelope(
    points_xy: np.ndarray, window: Window, n_simulations: int = 99, seed: int = 42
) -> RipleyCurves:
    """K of the pattern and its pointwise min/max envelope over CSR simulations.

    Args:
        points_xy: (n, 2) gap centres, n >= 2.
        window: the rectangle of study.
        n_simulations: CSR patterns simulated (ForestGapR: 99).
        seed: random seed, so a run can be repeated.

    Raises:
        ValueError: fewer than 2 points, or n_simulations < 1.
    """
    points = _check(points_xy, window)
    if len(points) < 2:
        raise ValueError(f"Ripley's K needs at least 2 points, got {len(points)}")
    if n_simulations < 1:
        raise ValueError(f"n_simulations must be >= 1, got {n_simulations}")
    r_m = default_radii(window, len(points))
    observed = ripley_k(points, window, r_m)
    rng = np.random.default_rng(seed)
    expected_n = len(points)
    simulated = np.empty((n_simulations, len(r_m)))
    left, bottom, right, top = window
    for index in range(n_simulations):
        n_sim = int(rng.poisson(expected_n))
        xy = np.column_stack(
            [rng.uniform(left, right, n_sim), rng.uniform(bottom, top, n_sim)]
        )
        simulated[index] = ripley_k(xy, window, r_m)
    return RipleyCurves(
        r_m=r_m,
        k_observed=observed,
        k_theoretical=math.pi * r_m**2,
        k_low=np.nanmin(simulated, axis=0),
        k_high=np.nanmax(simulated, axis=0),
        n_simulations=n_simulations,
        seed=seed,
    )
