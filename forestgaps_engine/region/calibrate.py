"""``--dry-run``: the block plan and a time estimate measured on one real block.

The calibration block is the first block run in this process; its record is kept, so the
real run then skips it.
"""

from __future__ import annotations

import os
import time
from typing import Any

from forestgaps_engine.region.blocks import RegionJob, run_block


def estimate(job: RegionJob, n_workers: int | None) -> dict[str, Any]:
    """Seconds of one block and of the whole run on ``n_workers`` workers."""
    blocks = job.plan.blocks
    largest = max(blocks, key=lambda block: block.height_px * block.width_px)
    # Twice: the first call loads the model (and warms the backend) once per worker.
    run_block(job, largest)
    started = time.perf_counter()
    job.record_path(largest).unlink()
    run_block(job, largest)
    block_s = time.perf_counter() - started
    workers = n_workers or os.cpu_count() or 1
    waves = -(-len(blocks) // workers)
    return {
        "calibration_block": largest.name,
        "calibration_block_s": round(block_s, 3),
        "n_workers": workers,
        "estimated_blocks_s": round(block_s * waves, 1),
    }
