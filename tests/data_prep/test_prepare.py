import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.warp import Resampling, calculate_default_transform, reproject

from forestgaps_engine.config import load_config
from forestgaps_engine.data.datasets import ShardDataset
from forestgaps_engine.data.prepare import prepare
from forestgaps_engine.data.records import split_shards, tile_record
from forestgaps_engine.data.shard_reader import iter_shard
from forestgaps_engine.data.shards import file_sha256
from forestgaps_engine.errors import (
    CancelledError,
    CRSMismatchError,
    DataError,
    InvalidDataFormatError,
)
from forestgaps_engine.models.normalization import Normalizer
from forestgaps_engine.synth.forest import generate_forest

QUICK = Path(__file__).resolve().parents[2] / "configs" / "quick.yaml"


def _quick(tmp_path, *overrides):
    return load_config(QUICK, [f"data.output_dir={tmp_path / 'prepared'}", *overrides])


def test_quick_synthetic_end_to_end(tmp_path):
    config = _quick(tmp_path)
    result = prepare(config)
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["thresholds_m"] == [2.0, 5.0, 10.0]
    assert result.samples_per_split["train"] % config.training.batch_size == 0
    assert all(n > 0 for n in result.samples_per_split.values())
    for split, entry in manifest["splits"].items():
        for shard in entry["shards"]:
            assert file_sha256(result.output_dir / shard["file"]) == shard["sha256"]
            assert shard["file"].startswith(f"{split}/{split}-")
    # Sites never straddle splits.
    seen = {}
    for split in ("train", "val", "test"):
        paths, counts = split_shards(result.output_dir, split)
        for sample in (s for p in paths for s in iter_shard(p)):
            assert seen.setdefault(sample.metadata["site"], split) == split
            assert sample.dsm_m.shape == (64, 64)
            assert set(sample.masks) == {2.0, 5.0, 10.0}
            assert all(set(np.unique(m)) <= {0, 1} for m in sample.masks.values())
            assert not any(m[~sample.valid].any() for m in sample.masks.values())
    paths, counts = split_shards(result.output_dir, "train")
    dataset = ShardDataset(paths, [2.0, 5.0, 10.0], shard_counts=counts, shuffle_buffer_size=8)
    assert len(list(dataset)) == result.samples_per_split["train"]
    normalization = json.loads(result.normalization_path.read_text())
    normalizer = Normalizer.from_prepared(normalization)
    item = next(iter(dataset))
    out = normalizer(item["dsm"][None], item["valid"][None])
    assert float(out.abs().max()) < 5.0  # altitude (hundreds of metres) removed
    assert set(normalization["per_site"]) == set(seen)
    record = tile_record(result.output_dir, item["tile_id"])
    assert record["transformations"]["labelling"]["thresholds_m"] == [2.0, 5.0, 10.0]
    assert record["transformations"]["site"]["kind"] == "synthetic"
    assert record["shard"].startswith("train/")


def test_same_config_gives_same_content_hash(tmp_path):
    first = prepare(_quick(tmp_path / "a"))
    second = prepare(_quick(tmp_path / "b"))
    assert first.content_sha256 == second.content_sha256
    # Preparing again into the same folder replaces it.
    again = prepare(_quick(tmp_path / "a"))
    assert again.content_sha256 == first.content_sha256
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]


def _write(path, values, crs, transform):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=values.shape[0],
        width=values.shape[1],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
        nodata=-9999.0,
    ) as dataset:
        dataset.write(np.where(np.isfinite(values), values, -9999.0).astype(np.float32), 1)
    return path


def _real_sites(tmp_path):
    lambert = generate_forest(192, crs="EPSG:2154", seed=11, origin_xy=(700_000.0, 6_600_000.0))
    dsm_a = _write(tmp_path / "a_dsm.tif", lambert.dsm_m, "EPSG:2154", lambert.grid.transform)
    chm_a = _write(tmp_path / "a_chm.tif", lambert.chm_m, "EPSG:2154", lambert.grid.transform)
    utm = generate_forest(192, crs="EPSG:32631", seed=12, origin_xy=(500_000.0, 5_000_000.0))
    dsm_b = _write(tmp_path / "b_dsm.tif", utm.dsm_m, "EPSG:32631", utm.grid.transform)
    # The DTM comes in Lambert-93: prepare must warp it onto the DSM's UTM grid.
    left, bottom, right, top = utm.grid.bounds
    transform, width, height = calculate_default_transform(
        "EPSG:32631", "EPSG:2154", 192, 192, left, bottom, right, top, resolution=1.0
    )
    dtm_2154 = np.full((height, width), np.nan, dtype=np.float32)
    reproject(
        utm.dtm_m,
        dtm_2154,
        src_transform=utm.grid.transform,
        src_crs="EPSG:32631",
        dst_transform=transform,
        dst_crs="EPSG:2154",
        src_nodata=np.nan,
        dst_nodata=np.nan,
        resampling=Resampling.bilinear,
    )
    dtm_b = _write(tmp_path / "b_dtm_lambert.tif", dtm_2154, "EPSG:2154", transform)
    return [
        {"name": "lambert", "dsm": str(dsm_a), "chm": str(chm_a)},
        {"name": "utm", "dsm": str(dsm_b), "dtm": str(dtm_b)},
    ]


def _sites_config(tmp_path, sites, *overrides):
    return load_config(
        None,
        [
            f"data.sites={json.dumps(sites)}",
            f"data.output_dir={tmp_path / 'prepared'}",
            "data.tile_size_px=32",
            "data.samples_per_shard=8",
            "data.min_valid_fraction=0.5",
            "training.batch_size=4",
            "gaps.thresholds_m=[2, 5, 10]",
            *overrides,
        ],
    )


def test_real_rasters_dsm_chm_and_warped_dsm_dtm(tmp_path):
    config = _sites_config(tmp_path, _real_sites(tmp_path), "data.resolution_m=2.0")
    result = prepare(config)
    assert result.samples_per_split["train"] > 0 and result.samples_per_split["train"] % 4 == 0
    manifest = json.loads(result.manifest_path.read_text())
    assert set(manifest["sites"]) == {"lambert", "utm"}
    held_out = [n for n, s in manifest["sites"].items() if s["split"]["rule"] == "spatial blocks"]
    assert len(held_out) == 1
    tiles = [json.loads(line) for line in result.tiles_path.read_text().splitlines()]
    utm_tile = next(t for t in tiles if t["site"] == "utm" and t["status"] == "kept")
    inputs = tile_record(result.output_dir, utm_tile["tile_id"])["transformations"]["site"][
        "inputs"
    ]
    assert inputs["dtm"]["reprojected"] is True
    assert (inputs["dtm"]["crs_from"], inputs["dtm"]["crs_to"]) == ("EPSG:2154", "EPSG:32631")
    assert inputs["dsm"]["reprojected"] is False and inputs["dsm"]["resolution_changed"] is True
    assert (
        inputs["dsm"]["resolution_to_m"] == [2.0, 2.0] and inputs["dsm"]["resampling"] == "bilinear"
    )
    lambert_tile = next(t for t in tiles if t["site"] == "lambert")
    assert lambert_tile["transformations"]["site"]["chm"] == "given"
    assert utm_tile["transformations"]["site"]["chm"].startswith("dsm - dtm")
    # The CHM made from the warped DTM still yields sensible gaps (some, not everywhere).
    ratios = [t["gap_ratio"]["5"] for t in tiles if t["site"] == "utm" and t["status"] == "kept"]
    assert 0.0 < float(np.mean(ratios)) < 0.5
    paths, _ = split_shards(result.output_dir, "train")
    sample = next(iter_shard(paths[0]))
    assert sample.metadata["resolution_m"] == [2.0, 2.0]
    assert sample.metadata["crs"] in ("EPSG:2154", "EPSG:32631")


def test_point_cloud_site(tmp_path, shared_data):
    sites = [{"name": "topography", "point_cloud": str(shared_data / "Topography.laz")}]
    config = _sites_config(tmp_path, sites, "data.resolution_m=2.0")
    result = prepare(config)
    assert (result.output_dir / "sites" / "topography" / "dsm.tif").is_file()
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["sites"]["topography"]["split"]["rule"] == "spatial blocks"
    assert result.samples_per_split["train"] > 0
    record = json.loads(result.tiles_path.read_text().splitlines()[0])
    site = record["transformations"]["site"]
    assert site["kind"] == "point_cloud" and site["rasterized"]["resolution_m"] == 2.0
    assert site["rasterized"]["outputs"]["dsm"] == "sites/topography/dsm.tif"
    assert site["inputs"]["dsm"]["path"] == "sites/topography/dsm.tif"
    assert site["grid"]["crs"] == "EPSG:2949"


def test_missing_file_is_named_and_nothing_is_left(tmp_path):
    sites = [
        {"name": "x", "dsm": str(tmp_path / "nope_dsm.tif"), "chm": str(tmp_path / "nope_chm.tif")}
    ]
    with pytest.raises(InvalidDataFormatError, match="nope_dsm.tif"):
        prepare(_sites_config(tmp_path, sites))
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_dsm_and_chm_that_do_not_overlap(tmp_path):
    forest = generate_forest(64, seed=1, origin_xy=(700_000.0, 6_600_000.0))
    far = generate_forest(64, seed=1, origin_xy=(800_000.0, 6_500_000.0))
    dsm = _write(tmp_path / "dsm.tif", forest.dsm_m, "EPSG:2154", forest.grid.transform)
    chm = _write(tmp_path / "far_chm.tif", far.chm_m, "EPSG:2154", far.grid.transform)
    previous = prepare(_quick(tmp_path))  # a previous dataset must survive the failure
    sites = [{"name": "x", "dsm": str(dsm), "chm": str(chm)}]
    with pytest.raises(CRSMismatchError, match="far_chm.tif"):
        prepare(_sites_config(tmp_path, sites))
    assert (
        json.loads(previous.manifest_path.read_text())["content_sha256"] == previous.content_sha256
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cancel_leaves_nothing(tmp_path):
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(CancelledError):
        prepare(_quick(tmp_path), cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_replace_an_unrelated_folder(tmp_path):
    (tmp_path / "prepared").mkdir()
    (tmp_path / "prepared" / "thesis.docx").write_text("precious")
    with pytest.raises(DataError, match="holds no manifest.json"):
        prepare(_quick(tmp_path))
    assert (tmp_path / "prepared" / "thesis.docx").read_text() == "precious"


def test_cli_prepare_and_tile_info(tmp_path, capsys):
    from forestgaps_engine.cli.main import main

    out = tmp_path / "prepared"
    assert main(["prepare", "--config", str(QUICK), "--set", f"data.output_dir={out}"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["samples_per_split"]["train"] == 32
    tile_id = json.loads((out / "tiles.jsonl").read_text().splitlines()[0])["tile_id"]
    assert main(["tile-info", str(out), tile_id]) == 0
    assert json.loads(capsys.readouterr().out)["tile_id"] == tile_id
    assert main(["tile-info", str(out), "nope"]) == 2


def test_synthetic_sites_resampled_and_progress_reported(tmp_path):
    fractions = []
    result = prepare(
        _quick(tmp_path, "data.resolution_m=2.0"), progress=lambda f, _m: fractions.append(f)
    )
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    record = json.loads(result.tiles_path.read_text().splitlines()[0])
    dsm = record["transformations"]["site"]["inputs"]["dsm"]
    assert dsm["resolution_from_m"] == [1.0, 1.0] and dsm["resolution_to_m"] == [2.0, 2.0]
    assert record["transformations"]["site"]["grid"]["height_px"] == 128


def test_synthetic_sites_cycle_through_resolutions_onto_one_grid(tmp_path):
    config = _quick(
        tmp_path, "synth.site_resolutions_m=[0.5, 1.0, 2.0]", "data.synthetic_sites=3"
    )
    result = prepare(config)
    sites = {}
    for line in result.tiles_path.read_text().splitlines():
        record = json.loads(line)["transformations"]["site"]
        sites[record["site"]] = record
    native = sorted(site["generator"]["resolution_m"] for site in sites.values())
    assert native == [0.5, 1.0, 2.0]
    for site in sites.values():
        assert site["grid"]["resolution_m"] == [1.0, 1.0]
    resampled = [s for s in sites.values() if s["generator"]["resolution_m"] != 1.0]
    assert all(s["inputs"]["dsm"]["resolution_to_m"] == [1.0, 1.0] for s in resampled)
    size_px = config.synth.size_px
    heights = sorted(site["grid"]["height_px"] for site in sites.values())
    assert heights == [size_px // 2, size_px, 2 * size_px]


def test_site_resolutions_must_be_positive(tmp_path):
    from forestgaps_engine.errors import ConfigError

    with pytest.raises(ConfigError, match="site_resolutions_m"):
        _quick(tmp_path, "synth.site_resolutions_m=[1.0, -2]")


def test_synthetic_sites_keep_their_own_grids(tmp_path):
    from forestgaps_engine.training.api import dataset_facts

    config = _quick(
        tmp_path,
        "synth.site_resolutions_m=[1.0, 0.5, 1.0, 2.0]",
        "synth.keep_site_resolutions=true",
        "data.synthetic_sites=4",
    )
    result = prepare(config)
    sites = {}
    for line in result.tiles_path.read_text().splitlines():
        record = json.loads(line)["transformations"]["site"]
        sites[record["site"]] = record
    size_px = config.synth.size_px
    for site in sites.values():
        native_m = site["generator"]["resolution_m"]
        assert site["grid"]["resolution_m"] == [native_m, native_m]
        assert site["grid"]["height_px"] == size_px
        assert "inputs" not in site  # nothing was warped
    assert sorted(s["generator"]["resolution_m"] for s in sites.values()) == [0.5, 1.0, 1.0, 2.0]
    # The card's training cell size is the one most sites have, not the first site's.
    manifest = json.loads(result.manifest_path.read_text())
    assert dataset_facts(manifest, config)["resolution_m"] == 1.0
    first, *others = manifest["sites"].values()
    assert first["grid"]["resolution_m"] == [1.0, 1.0]
    for site in others:
        site["grid"]["resolution_m"] = [2.0, 2.0]
    assert dataset_facts(manifest, config)["resolution_m"] == 2.0
