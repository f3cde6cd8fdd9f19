"""Real-site builders: a feet, unclassified cloud written here becomes a metric site with
the right CHM labels; provenance reaches the prepared manifest; the shared corpus builds."""

from __future__ import annotations

import json
from pathlib import Path

import laspy
import numpy as np
import pytest
from pyproj import CRS

from forestgaps_engine.config import load_config
from forestgaps_engine.config.data import LidarSiteConfig, SiteConfig
from forestgaps_engine.data.prepare import prepare
from forestgaps_engine.data.real_sites.builder import build_real_site
from forestgaps_engine.data.real_sites.units import METRES_PER_UNIT
from forestgaps_engine.errors import DataError
from forestgaps_engine.gaps.detector import label_gaps
from forestgaps_engine.progress import Reporter

FOOT_M = METRES_PER_UNIT["us_survey_foot"]
SIDE_M = 64.0
CANOPY_M = 20.0
GROUND_AT_ORIGIN_M = 2150.0
SLOPE = 0.1  # metres of rise per metre east
GAP_M = (24.0, 40.0)  # a 16 x 16 m square gap, both axes
BUILDING_M = (6.0, 12.0)  # a 6 x 6 m building (class 6), both axes
ORIGIN_FT = (1_639_600.0, 1_454_500.0)


def _in(values: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    return (values >= bounds[0]) & (values < bounds[1])


def write_feet_cloud(path: Path, seed: int = 3) -> Path:
    """A sloped terrain under a 20 m canopy with one square gap, in US survey feet
    (EPSG:2903, X, Y and Z), no ground class, plus a building of class 6."""
    rng = np.random.default_rng(seed)

    def ground_m(x: np.ndarray) -> np.ndarray:
        return GROUND_AT_ORIGIN_M + SLOPE * x

    # Ground returns everywhere (fewer under the canopy), canopy returns outside the gap.
    gx, gy = rng.uniform(0, SIDE_M, (2, int(SIDE_M**2 * 2)))
    in_gap = _in(gx, GAP_M) & _in(gy, GAP_M)
    keep = in_gap | (rng.random(gx.size) < 0.5)
    gx, gy = gx[keep], gy[keep]
    gz = ground_m(gx) + rng.normal(0, 0.05, gx.size)
    cx, cy = rng.uniform(0, SIDE_M, (2, int(SIDE_M**2 * 4)))
    open_cells = (_in(cx, GAP_M) & _in(cy, GAP_M)) | (_in(cx, BUILDING_M) & _in(cy, BUILDING_M))
    cx, cy = cx[~open_cells], cy[~open_cells]
    cz = ground_m(cx) + CANOPY_M + rng.uniform(-1.0, 1.0, cx.size)
    bx, by = rng.uniform(BUILDING_M[0], BUILDING_M[1], (2, 200))
    bz = ground_m(bx) + 8.0
    x_m, y_m, z_m = (np.concatenate(parts) for parts in ((gx, cx, bx), (gy, cy, by), (gz, cz, bz)))
    classes = np.concatenate(
        [np.ones(gx.size + cx.size, dtype=np.uint8), np.full(bx.size, 6, dtype=np.uint8)]
    )
    header = laspy.LasHeader(point_format=3, version="1.4")
    header.add_crs(CRS.from_epsg(2903))
    header.offsets = [ORIGIN_FT[0], ORIGIN_FT[1], 0.0]
    header.scales = [0.01, 0.01, 0.01]
    las = laspy.LasData(header)
    las.x = ORIGIN_FT[0] + x_m / FOOT_M
    las.y = ORIGIN_FT[1] + y_m / FOOT_M
    las.z = z_m / FOOT_M
    las.classification = classes
    las.write(path)
    return path


def require_csf() -> None:
    """The ground filter is the ``lidar`` extra (installed by .ci/run)."""
    pytest.importorskip("CSF", reason="cloth-simulation-filter (pip install '.[lidar]') missing")


@pytest.fixture(scope="module")
def feet_cloud(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cloud")
    (folder / "SOURCE.txt").write_text(
        "repo: https://example.invalid/test-cloud\nlicense: CC0 (written by the test)\n"
        "note: sloped terrain, 20 m canopy, one gap; US survey feet\nfiles:\n  - cloud.las\n",
        "utf-8",
    )
    return write_feet_cloud(folder / "cloud.las")


def _site(cloud: Path, **lidar: object) -> SiteConfig:
    return SiteConfig(
        name="feet_site",
        point_cloud=str(cloud),
        source_dir=str(cloud.parent),
        lidar=LidarSiteConfig(resolution_m=1.0, cloth_resolution_m=1.0, **lidar),
    )


def test_feet_unclassified_cloud_becomes_a_metric_site_with_correct_chm_labels(
    feet_cloud: Path, tmp_path: Path
) -> None:
    require_csf()
    rasters = build_real_site(_site(feet_cloud), None, tmp_path / "sites", Reporter(None, None))
    grid = rasters.grid
    # Metres: 64 m is 64 cells of 1 m (in feet it would be 210), CRS axes in metres.
    assert grid.resolution_m == (1.0, 1.0)
    assert 64 <= grid.width_px <= 66 and 64 <= grid.height_px <= 66
    assert CRS.from_user_input(grid.crs).axis_info[0].unit_name == "metre"
    record = rasters.record
    assert record["cloud"]["units"]["from"] == "us_survey_foot"
    assert record["cloud"]["ground"]["source"] == "csf"
    assert record["provenance"]["license"] == "CC0 (written by the test)"
    # Elevations in metres (the ground rises from 2150 m; 7054 ft if left in feet).
    dsm = rasters.dsm.values[rasters.dsm.valid]
    assert 2150.0 <= np.median(dsm) <= 2180.0
    chm = rasters.chm
    x_m = (np.arange(grid.width_px) + 0.5) * 1.0 + (grid.transform.c - ORIGIN_FT[0] * FOOT_M)
    y_m = (grid.transform.f - ORIGIN_FT[1] * FOOT_M) - (np.arange(grid.height_px) + 0.5) * 1.0
    xx, yy = np.meshgrid(x_m, y_m)
    gap = _in(xx, GAP_M) & _in(yy, GAP_M)
    building = _in(xx, BUILDING_M) & _in(yy, BUILDING_M)
    canopy = ~gap & ~building & (xx > 2) & (xx < SIDE_M - 2) & (yy > 2) & (yy < SIDE_M - 2)
    canopy &= ~(_in(xx, (GAP_M[0] - 2, GAP_M[1] + 2)) & _in(yy, (GAP_M[0] - 2, GAP_M[1] + 2)))
    assert abs(float(np.nanmedian(chm.values[canopy])) - CANOPY_M) < 1.0
    # Buildings are out of the DSM: their cells are nodata, not ground-level gaps.
    inner_building = _in(xx, (BUILDING_M[0] + 1, BUILDING_M[1] - 1)) & _in(
        yy, (BUILDING_M[0] + 1, BUILDING_M[1] - 1)
    )
    assert not rasters.dsm.valid[inner_building].any()
    assert not chm.valid[inner_building].any()
    # Gap labels at 5 m (the ForestGapR rule on the CHM) are the square gap.
    labels = label_gaps(chm.values, 5.0, grid.cell_area_m2, 1.0, 10000.0) > 0
    iou = (labels & gap).sum() / (labels | gap).sum()
    assert iou > 0.85, iou


def test_declared_normalised_raw_cloud_is_refused_naming_the_setting(
    feet_cloud: Path, tmp_path: Path
) -> None:
    with pytest.raises(DataError, match=r"cloud\.las.*height_normalised"):
        build_real_site(
            _site(feet_cloud, height_normalised=True), None, tmp_path, Reporter(None, None)
        )


def test_no_ground_with_the_filter_off_is_refused(feet_cloud: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"cloud\.las: no ground point .*ground_filter is none"):
        build_real_site(
            _site(feet_cloud, ground_filter="none"), None, tmp_path, Reporter(None, None)
        )


def test_prepare_carries_the_site_provenance_into_the_manifest(
    feet_cloud: Path, tmp_path: Path
) -> None:
    require_csf()
    config = load_config(
        None,
        [
            f"data.output_dir={tmp_path / 'prepared'}",
            "data.tile_size_px=32",
            "data.min_valid_fraction=0.5",
            "data.split.train=1.0",
            "data.split.val=0.0",
            "data.split.test=0.0",
            "training.batch_size=1",
            "gaps.thresholds_m=[5.0]",
        ],
    )
    site = _site(feet_cloud)
    config = config.model_copy(update={"data": config.data.model_copy(update={"sites": [site]})})
    result = prepare(config)
    manifest = json.loads(result.manifest_path.read_text("utf-8"))
    provenance = manifest["sites"]["feet_site"]["provenance"]
    assert provenance["folder"] == feet_cloud.parent.name
    assert provenance["license"] == "CC0 (written by the test)"
    assert provenance["files"] == ["cloud.las"]
    assert result.samples_per_split["train"] >= 1
    tiles = [json.loads(line) for line in result.tiles_path.read_text("utf-8").splitlines()]
    assert tiles[0]["transformations"]["site"]["cloud"]["units"]["from"] == "us_survey_foot"


def test_shared_feet_sample_is_converted_to_metres(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "real" / "pdal_nm_crop"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found (the real corpus is not installed)")
    site = SiteConfig(
        name="pdal_nm_crop",
        point_cloud=str(folder / "4_6_crop.las"),
        source_dir=str(folder),
        lidar=LidarSiteConfig(resolution_m=0.5),
    )
    rasters = build_real_site(site, None, tmp_path, Reporter(None, None))
    # 7078-7140 ft of elevation is 2157-2176 m; canopy up to ~18 m (59 ft in feet).
    dsm = rasters.dsm.values[rasters.dsm.valid]
    assert 2150 < dsm.min() and dsm.max() < 2180
    assert 12 < np.nanmax(rasters.chm.values) < 25
    assert rasters.record["provenance"]["license"].startswith("BSD")
