"""Run predict on a SIZE x SIZE synthetic DSM in a fresh process; print peak RSS as JSON.

Usage: python -m tests.inference.memory_run SIZE OUT_DIR
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

import numpy as np

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.inference import predict
from tests.inference.helpers import pointwise_model, write_dsm


def main() -> None:
    size_px, out = int(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    rows = np.arange(size_px, dtype=np.float32)[:, None]
    cols = np.arange(size_px, dtype=np.float32)[None, :]
    dsm = write_dsm(out / "dsm.tif", 205.0 + 5.0 * np.sin(rows / 9.0) * np.cos(cols / 11.0))
    del rows, cols
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    config = InferenceConfig(
        tile_size_px=256, overlap_px=32, batch_size=8, device="cpu", backend="torch"
    )
    result = predict(dsm, [2, 5], pointwise_model(out), out / "pred", config)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "size_px": size_px,
                "peak_rss_mb": peak_kb / 1024,
                "rss_before_predict_mb": before_kb / 1024,
                "n_gaps": [t.n_gaps for t in result.thresholds],
            }
        )
    )


if __name__ == "__main__":
    main()
