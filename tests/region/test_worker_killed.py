"""A Dask worker killed mid-run: its block runs again elsewhere and the maps are unchanged."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import rasterio

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.inference import predict
from forestgaps_engine.region.run import RegionSettings, region

distributed = pytest.importorskip("distributed")


def test_killed_worker_blocks_are_retried(tmp_path, region_tiles, tiny_model_dir):
    folder, whole = region_tiles
    config = InferenceConfig(tile_size_px=64, overlap_px=16, batch_size=1, device="cpu",
                             backend="torch", probability_cutoff=0.4903)  # fmt: skip
    expected = predict(whole, [5.0], tiny_model_dir, tmp_path / "predict", config)
    killed: list[tuple[str, list[str]]] = []
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=":0") as cluster,  # fmt: skip
        distributed.Client(cluster) as client,
    ):
        pids = client.run(os.getpid)

        def progress(fraction: float, message: str) -> None:
            if killed or not message.startswith("blocks"):
                return
            busy = {address: list(keys) for address, keys in client.processing().items() if keys}
            if busy:
                address, keys = next(iter(busy.items()))
                os.kill(pids[address], signal.SIGKILL)
                killed.append((address, keys))

        settings = RegionSettings(model=str(tiny_model_dir), config=config, block_size_px=96)
        result = region([folder], [5.0], tmp_path / "region", settings,
                        scheduler=cluster.scheduler_address, progress=progress)  # fmt: skip
    assert killed and killed[0][1], "a worker with a block in flight was killed"
    with rasterio.open(tmp_path / "region" / "gap_probability_t5.tif") as mine:
        with rasterio.open(expected.thresholds[0].probability_path) as theirs:
            assert np.array_equal(mine.read(1), theirs.read(1))
    assert result.summary["thresholds"][0]["n_gaps"] == expected.thresholds[0].n_gaps
