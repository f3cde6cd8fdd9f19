"""Finished results stay within serve.max_results_mb (oldest evicted first), and the service
logs the resampled grid only for a request that is then predicted, not one refused."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.serve import create_app
from forestgaps_engine.serve.results import ResultStore
from tests.data.rasters import write_raster
from tests.serve.conftest import local_client
from tests.serve.test_limits import post, with_serve

MIB = 2**20


def publish_job(store: ResultStore, size_bytes: int) -> str:
    job_id, folder = store.new_folder()
    path = folder / "gap_mask_t5.tif"
    path.write_bytes(os.urandom(size_bytes))
    store.publish(job_id, folder, {path.name: path})
    return job_id


def test_the_oldest_finished_results_go_first_when_over_the_budget(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results", ttl_s=600.0, max_bytes=MIB)
    store.root.mkdir()
    running, _folder = store.new_folder()  # no manifest yet: still predicting
    (_folder / "partial.tif").write_bytes(os.urandom(MIB))
    first = publish_job(store, 400_000)
    second = publish_job(store, 400_000)
    assert store.lookup(first, "gap_mask_t5.tif") is not None

    third = publish_job(store, 400_000)

    assert store.lookup(first, "gap_mask_t5.tif") is None  # the oldest, evicted
    assert not (store.root / first).exists()
    assert store.lookup(second, "gap_mask_t5.tif") is not None
    assert store.lookup(third, "gap_mask_t5.tif") is not None
    assert (store.root / running / "partial.tif").is_file()  # a running job is never touched


def test_a_result_larger_than_the_budget_is_kept_alone(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results", ttl_s=600.0, max_bytes=MIB)
    store.root.mkdir()
    small = publish_job(store, 100_000)
    large = publish_job(store, 2 * MIB)
    assert store.lookup(small, "gap_mask_t5.tif") is None
    assert store.lookup(large, "gap_mask_t5.tif") is not None


def test_the_service_evicts_older_results_past_its_budget(
    tiny_model_dir, service_config: ForestGapsConfig, dsm: Path
) -> None:
    config = with_serve(service_config, max_results_mb=0.001)
    with local_client(create_app(tiny_model_dir, config)) as client:
        first = post(client, dsm, thresholds="5").json()
        assert "thresholds" in first, first
        time.sleep(0.01)
        second = post(client, dsm, thresholds="5").json()
        old = client.get(first["thresholds"][0]["files"]["mask"])
        new = client.get(second["thresholds"][0]["files"]["mask"])
    assert old.status_code == 404
    assert "serve.max_results_mb" in old.json()["hint"]
    assert new.status_code == 200


def test_the_resampled_grid_is_logged_only_when_work_starts(
    tiny_model_dir, service_config: ForestGapsConfig, tmp_path: Path, caplog
) -> None:
    heights = np.full((96, 96), 220.0, np.float32)
    heights[20:40, 20:40] = 201.0
    fine = write_raster(tmp_path / "fine.tif", heights, resolution=0.5, nodata=None)
    refusing = with_serve(service_config, max_input_mpix=0.001)
    with caplog.at_level(logging.INFO, logger="forestgaps_engine"):
        with local_client(create_app(tiny_model_dir, refusing)) as client:
            refused = post(client, fine, thresholds="5")
        assert refused.status_code == 413, refused.text
        assert not [r for r in caplog.records if "predicting on a" in r.getMessage()]
        with local_client(create_app(tiny_model_dir, service_config)) as client:
            served = post(client, fine, thresholds="5")
        assert served.status_code == 200, served.text
    logged = [r.getMessage() for r in caplog.records if "predicting on a" in r.getMessage()]
    assert len(logged) == 1 and "48 x 48 px grid" in logged[0], logged
