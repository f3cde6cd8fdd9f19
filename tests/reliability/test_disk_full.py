"""A full disk: exit 2, one message naming the folder and free space, previous files kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.reliability.helpers import (
    assert_reads_whole,
    digest,
    fill,
    leftovers,
    run_cli,
    write_chm,
)


def test_synth_into_a_full_disk_keeps_the_previous_rasters(small_tmpfs: Path) -> None:
    out = small_tmpfs / "syn"
    first = run_cli("synth", "--size", "256", "--out", out)
    assert first.returncode == 0, first.stderr
    before = {path.name: digest(path) for path in out.glob("*.tif")}

    second = run_cli("synth", "--size", "1024", "--out", out)

    assert second.returncode == 2, second.stderr
    assert "Internal error" not in second.stderr
    assert f"{out}: no space left to write" in second.stderr
    assert "Free space in" in second.stderr and "--out" in second.stderr
    assert {path.name: digest(path) for path in out.glob("*.tif")} == before
    for path in out.glob("*.tif"):
        assert_reads_whole(path)
    assert leftovers(small_tmpfs) == []


@pytest.mark.parametrize("leave_kb", [0, 8, 40])
def test_gaps_from_chm_into_a_full_disk_is_a_user_error(
    small_tmpfs: Path, tmp_path: Path, leave_kb: int
) -> None:
    """0 kB: the raster fails; 8 kB: the GeoPackage's header; 40 kB: its rows."""
    chm = write_chm(tmp_path / "chm.tif", 256)
    out = small_tmpfs / "gaps"
    out.mkdir()
    fill(small_tmpfs, leave_kb * 1024)

    result = run_cli("gaps-from-chm", chm, "--threshold", "5", "--out", out)

    assert result.returncode == 2, result.stderr
    assert "Internal error" not in result.stderr
    assert f"{out}: no space left to write" in result.stderr
    assert sorted(path.name for path in out.iterdir()) == []  # all outputs or none
    assert leftovers(small_tmpfs) == []


def test_write_array_refuses_to_replace_a_good_file_with_a_broken_one(
    small_tmpfs: Path,
) -> None:
    from rasterio.transform import from_origin

    from forestgaps_engine.files import DiskFullError
    from forestgaps_engine.geo.grid import Grid
    from forestgaps_engine.geo.raster_io import HEIGHT_PROFILE, write_array

    target = small_tmpfs / "dsm.tif"
    small = Grid("EPSG:2154", from_origin(700_000, 6_600_000, 1, 1), 64, 64)
    write_array(target, np.ones(small.shape, np.float32), small, HEIGHT_PROFILE)
    before = digest(target)
    large = Grid("EPSG:2154", from_origin(700_000, 6_600_000, 1, 1), 1024, 1024)
    noise = np.random.default_rng(0).random(large.shape, dtype=np.float32)

    with pytest.raises(DiskFullError, match="no space left to write dsm.tif"):
        write_array(target, noise, large, HEIGHT_PROFILE)

    assert digest(target) == before
    assert leftovers(small_tmpfs) == []
