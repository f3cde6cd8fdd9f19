"""A real site's point cloud that is missing or not a LAS/LAZ is a user error naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from forestgaps_engine.config.data import LidarSiteConfig
from forestgaps_engine.data.real_sites.cloud import prepare_cloud
from forestgaps_engine.errors import InvalidDataFormatError


def test_missing_and_garbage_clouds_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.laz"
    with pytest.raises(InvalidDataFormatError, match="absent.laz: file not found"):
        prepare_cloud(missing, "EPSG:2154", LidarSiteConfig(), tmp_path / "out.las")
    garbage = tmp_path / "garbage.las"
    garbage.write_bytes(b"not a point cloud at all" * 10)
    with pytest.raises(InvalidDataFormatError, match="garbage.las: not a readable LAS/LAZ"):
        prepare_cloud(garbage, "EPSG:2154", LidarSiteConfig(), tmp_path / "out.las")
    assert not (tmp_path / "out.las").exists()
