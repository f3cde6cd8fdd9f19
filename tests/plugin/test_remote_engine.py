"""The engine's own server client (httpx) against a real `forestgaps serve`: the same
files and figures as the model here, and the maximum gap area reaches the server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.detection import RemoteServer, detect
from tests.plugin.test_plugin_server_mode import server_url  # noqa: F401

CONFIG = InferenceConfig(tile_size_px=64, overlap_px=8, min_gap_area_m2=1.0)


def test_detect_on_a_server_matches_the_model_here(
    site: dict[str, Path], server_url: str, tmp_path: Path  # noqa: F811
) -> None:
    pytest.importorskip("httpx")
    here = detect(site["dsm"], [5.0], tmp_path / "here", config=CONFIG)
    remote = detect(
        site["dsm"], [5.0], tmp_path / "remote", config=CONFIG, remote=RemoteServer(server_url)
    )
    bounded = detect(
        site["dsm"], [5.0], tmp_path / "bounded", remote=RemoteServer(server_url),
        config=CONFIG.model_copy(update={"max_gap_area_m2": 20.0}),
    )  # fmt: skip

    assert remote.method == "model" and remote.server_url == server_url
    assert f"ForestGaps server {server_url}" in remote.notes[0]
    (local_item,), (remote_item,) = here.thresholds, remote.thresholds
    with rasterio.open(local_item.mask_path) as a, rasterio.open(remote_item.mask_path) as b:
        assert np.array_equal(a.read(1), b.read(1))
    assert remote_item.n_gaps == local_item.n_gaps
    assert 0 < bounded.thresholds[0].n_gaps < remote_item.n_gaps
