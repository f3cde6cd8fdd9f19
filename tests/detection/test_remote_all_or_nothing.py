"""A server answer the client cannot use leaves none of the files it already downloaded.

The transport is a real one of the ``Transport`` protocol that serves a GeoTIFF written
here, so the client's own download, GDAL check and cleanup run; no network is needed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pytest

from forestgaps_engine.detection.remote import HttpAnswer, RemoteServer, predict_on_server
from forestgaps_engine.errors import CancelledError, InferenceError
from tests.data.rasters import write_raster


class FolderTransport:
    """Answers ``/predict`` with ``links`` and serves every download from ``raster``."""

    def __init__(self, raster: Path, links: dict[str, str], cancel_after: int = 99) -> None:
        self.raster, self.links, self.cancel_after = raster, links, cancel_after
        self.n_downloads = 0

    def post_file(
        self, url: str, fields: Mapping[str, str], file_path: Path, headers: Mapping[str, str],
        sent: Callable[[int], None], cancel: object,
    ) -> HttpAnswer:  # fmt: skip
        answer = {"thresholds": [{"threshold_m": 5.0, "n_gaps": 1, "files": self.links}]}
        return HttpAnswer(200, json.dumps(answer).encode())

    def download(
        self, url: str, target: Path, headers: Mapping[str, str], cancel: object
    ) -> HttpAnswer:
        self.n_downloads += 1
        if self.n_downloads > self.cancel_after:
            raise CancelledError("the download from the ForestGaps server was cancelled")
        target.write_bytes(self.raster.read_bytes())
        return HttpAnswer(200)


@pytest.fixture
def raster(tmp_path: Path) -> Path:
    return write_raster(tmp_path / "served.tif", np.ones((8, 8), dtype=np.float32))


def test_an_answer_without_a_gap_layer_leaves_no_download(raster: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    links = {"probability": "/results/j/p.tif", "mask": "/results/j/m.tif"}  # no gaps_gpkg
    server = RemoteServer("http://server.invalid", transport=FolderTransport(raster, links))

    with pytest.raises(InferenceError, match="without the expected fields"):
        predict_on_server(server, raster, (5.0,), {}, out)

    assert list(out.iterdir()) == []


def test_a_cancel_between_downloads_leaves_no_download(raster: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    links = {"probability": "/p.tif", "mask": "/m.tif", "gaps_gpkg": "/g.gpkg"}
    server = RemoteServer("http://server.invalid", transport=FolderTransport(raster, links, 1))

    with pytest.raises(CancelledError):
        predict_on_server(server, raster, (5.0,), {}, out)

    assert list(out.iterdir()) == []
