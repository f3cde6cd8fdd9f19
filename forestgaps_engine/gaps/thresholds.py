"""The one check of gap height thresholds, shared by the classic detector, prediction and
evaluation."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from forestgaps_engine.errors import ConfigError


def validate_thresholds(thresholds_m: Sequence[float] | float) -> list[float]:
    """Sorted unique thresholds, each finite and > 0 metres.

    Raises:
        ConfigError: empty list, or a threshold that is not a positive number.
    """
    # numbers.Real also admits NumPy scalars (np.float32 is not a float).
    is_scalar = isinstance(thresholds_m, numbers.Real)
    values = [thresholds_m] if is_scalar else list(thresholds_m)
    if not values:
        raise ConfigError("no threshold given", hint="Pass at least one --threshold (metres).")
    for value in values:
        is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value) or value <= 0:
            raise ConfigError(
                f"threshold {value!r} m is not a positive height",
                hint="Thresholds are canopy heights in metres, e.g. --threshold 5.",
            )
    return sorted({float(value) for value in values})
