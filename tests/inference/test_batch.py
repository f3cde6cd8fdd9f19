"""Batch mode: several DSMs or a folder, one model load, outputs per DSM, shards."""

from __future__ import annotations

import json

import pytest

from forestgaps_engine.cli.main import main
from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.errors import BatchError, ConfigError, DataError
from forestgaps_engine.inference import backends
from forestgaps_engine.inference.batch import expand_dsms, predict_many, shard
from tests.inference.helpers import forest, write_dsm

CONFIG = InferenceConfig(tile_size_px=64, overlap_px=8, backend="torch", min_gap_area_m2=0)


@pytest.fixture
def dsm_folder(tmp_path):
    folder = tmp_path / "dsms"
    folder.mkdir()
    for index, name in enumerate(("c", "a", "b")):
        write_dsm(folder / f"{name}.tif", forest(40, seed=index))
    (folder / "notes.txt").write_text("not a raster")
    return folder


def test_folder_writes_one_output_folder_per_dsm_with_one_backend(
    tmp_path, dsm_folder, tiny_model_dir, monkeypatch
):
    built = []
    original = backends.create_backend

    def counting(*args, **kwargs):
        built.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(backends, "create_backend", counting)
    results = predict_many([dsm_folder], [5.0], tiny_model_dir, tmp_path / "out", CONFIG)
    assert [result.out_dir.name for result in results] == ["a", "b", "c"]
    assert built == ["torch"]
    for name in "abc":
        summary = json.loads((tmp_path / "out" / name / "summary.json").read_text())
        assert summary["dsm"].endswith(f"{name}.tif")
        assert (tmp_path / "out" / name / "gap_mask_t5.tif").is_file()


def test_shards_cover_every_dsm_exactly_once(dsm_folder):
    every = expand_dsms([dsm_folder])
    assert [path.name for path in every] == ["a.tif", "b.tif", "c.tif"]
    parts = [shard(every, index, 2) for index in range(2)]
    assert [path.name for path in parts[0]] == ["a.tif", "c.tif"]
    assert [path.name for path in parts[1]] == ["b.tif"]
    with pytest.raises(ConfigError, match="shard 2 of 2"):
        shard(every, 2, 2)


def test_cli_shard_predicts_its_share_only(tmp_path, dsm_folder, tiny_model_dir):
    out = tmp_path / "out"
    argv = ["predict", str(dsm_folder / "a.tif"), str(dsm_folder / "b.tif"), str(dsm_folder)]
    argv += ["--threshold", "5", "--model", str(tiny_model_dir), "--out", str(out)]
    argv += ["--tile", "64", "--overlap", "8", "--backend", "torch"]
    assert main([*argv, "--shard-index", "1", "--shard-count", "2"]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["b"]
    assert main([*argv, "--shard-index", "0", "--shard-count", "2"]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["a", "b", "c"]
    assert main([*argv, "--shard-index", "3", "--shard-count", "2"]) == 2


def test_missing_input_and_name_clash_are_reported(tmp_path, dsm_folder, tiny_model_dir):
    with pytest.raises(DataError, match="nowhere.tif"):
        expand_dsms([tmp_path / "nowhere.tif"])
    other = tmp_path / "other"
    other.mkdir()
    write_dsm(other / "a.tif", forest(40))
    with pytest.raises(ConfigError, match="share the name 'a'"):
        predict_many([dsm_folder, other], [5.0], tiny_model_dir, tmp_path / "o", CONFIG)


def test_a_failed_dsm_leaves_no_output_folder_and_the_batch_goes_on(
    tmp_path, dsm_folder, tiny_model_dir
):
    (dsm_folder / "broken.tif").write_text("not a raster")
    out = tmp_path / "out"
    with pytest.raises(BatchError, match=r"1 of 4 DSM\(s\) failed.*broken.tif") as raised:
        predict_many([dsm_folder], [5.0], tiny_model_dir, out, CONFIG)
    assert [result.out_dir.name for result in raised.value.results] == ["a", "b", "c"]
    assert sorted(path.name for path in out.iterdir()) == ["a", "b", "c"]
