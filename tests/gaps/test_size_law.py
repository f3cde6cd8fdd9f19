"""Size-frequency exponents: closed forms, R's optimize, degenerate inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, special

from forestgaps_engine.gaps.r_compat import brent_minimize
from forestgaps_engine.gaps.size_law import lambda_asner_2013, lambda_hanel_2017


def test_hanel_is_the_continuous_power_law_mle() -> None:
    areas = np.array([1.0, 1.0, 2.0, 3.0, 8.0, 1.0, 40.0])
    expected = 1 + areas.size / np.sum(np.log(areas / 1.0))
    assert lambda_hanel_2017(areas) == pytest.approx(expected, rel=1e-15)
    # xmin is the smallest gap, so scaling all areas leaves the exponent unchanged.
    assert lambda_hanel_2017(areas * 4) == pytest.approx(expected, rel=1e-12)


def test_asner_minimises_the_zeta_deviance() -> None:
    areas = np.array([1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 5.0, 9.0, 30.0])
    lam = lambda_asner_2013(areas)
    exact = optimize.minimize_scalar(
        lambda s: s * np.log(areas).sum() + areas.size * math.log(special.zeta(s, 1)),
        bounds=(1.0001, 20),
        method="bounded",
        options={"xatol": 1e-12},
    ).x
    assert lam == pytest.approx(exact, abs=2e-4)  # R's optimize tolerance is eps^0.25


def test_fewer_than_two_gaps_or_one_size_give_none() -> None:
    for areas in (np.array([]), np.array([5.0])):
        assert lambda_hanel_2017(areas) is None
        assert lambda_asner_2013(areas) is None
    assert lambda_hanel_2017(np.array([3.0, 3.0, 3.0])) is None
    assert lambda_asner_2013(np.array([3.0, 3.0])) is not None


def test_non_positive_areas_are_rejected() -> None:
    with pytest.raises(ValueError):
        lambda_hanel_2017(np.array([0.0, 2.0]))


def test_brent_finds_a_parabola_minimum_within_tolerance() -> None:
    x_min = brent_minimize(lambda x: (x - 2.345) ** 2 + 1.0, 0.0, 10.0)
    assert abs(x_min - 2.345) < 1e-4
    # The minimum at an end is approached but never evaluated closer than the tolerance.
    assert brent_minimize(lambda x: x, 1.0, 3.0) == pytest.approx(1.0, abs=1e-3)
