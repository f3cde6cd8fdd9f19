"""One threshold check for the classic detector, prediction and evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from forestgaps_engine.errors import ConfigError
from forestgaps_engine.gaps.pipeline import validate_gap_parameters
from forestgaps_engine.gaps.thresholds import validate_thresholds


def test_thresholds_are_sorted_unique_floats_numpy_scalars_included() -> None:
    assert validate_thresholds([10, np.float32(5.0), 5.0, 2.5]) == [2.5, 5.0, 10.0]
    assert validate_thresholds(np.float32(7.5)) == [7.5]


@pytest.mark.parametrize("bad", [[], [0.0], [-2.0], [float("nan")], [float("inf")], [True], ["5"]])
def test_bad_thresholds_are_refused_the_same_way_everywhere(bad) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_thresholds(bad)
    with pytest.raises(ConfigError) as caught_classic:
        validate_gap_parameters(bad, 1.0, 10000.0)
    assert str(caught.value) == str(caught_classic.value)
