"""The one check of gap height thresholds.

The classic detector, prediction and evaluation all share it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from forestgaps_engine.errors import ConfigError

# Thresholds are heights above ground: the tallest trees stand about 116 m, so a higher
# threshold marks every cell as gap (and 1e30 is a typo or a unit mistake).
MAX_THRESHOLD_M = 150.0


def validate_thresholds(thresholds_m: Sequence[float] | float) -> list[float]:
    """Sorted unique thresholds, each finite, > 0 and <= ``MAX_THRESHOLD_M`` metres.

    Raises:
        ConfigError: empty list, a threshold that is not a positive number, or one above
            any canopy.
    """
    # numbers.Real also admits NumPy scalars (np.float32 is not a float).
    is_scalar = isinstance(thresholds_m, numbers.Real)
    values = [thresholds_m] if is_scalar else list(thresholds_m)
    if not values:
        raise ConfigError("no threshold given", hint="Give at least one threshold, in metres (e.g. 5).")
    for value in values:
        is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value) or value <= 0:
            raise ConfigError(
                f"threshold {value!r} m is not a positive height",
                hint="Thresholds are canopy heights in metres, e.g. 5.",
            )
        if value > MAX_THRESHOLD_M:
            raise ConfigError(
                f"threshold {value:g} m is above any canopy (the tallest trees are about "
                f"116 m; at most {MAX_THRESHOLD_M:g} m is accepted)",
                hint="Thresholds are heights above ground in metres, e.g. 5; "
                "check the value and its unit.",
            )
    return sorted({float(value) for value in values})
