"""Where the benchmarks find the real sample data: ``$FORESTGAPS_SHARED_DATA``, else
``../shared/data`` beside the repository (GPL-3 data, kept outside it)."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA = Path(
    os.environ.get(
        "FORESTGAPS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)
