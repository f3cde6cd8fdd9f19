"""``evaluate --data``: a model and the DSM-only baseline scored on a prepared split's tiles."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from forestgaps_engine.cli.main import main
from forestgaps_engine.config import load_config
from forestgaps_engine.data.prepare import prepare
from forestgaps_engine.data.records import split_shards
from forestgaps_engine.data.shard_reader import iter_shards
from forestgaps_engine.errors import ConfigError, DataError
from forestgaps_engine.evaluation.shards import evaluate_shards
from tests.inference.helpers import card_for, pointwise_model

QUICK = Path(__file__).resolve().parents[2] / "configs" / "quick.yaml"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("prepared") / "data"
    config = load_config(
        QUICK, [f"data.output_dir={folder}", "synth.size_px=192", "synth.nodata_holes=true"]
    )
    prepare(config)
    return folder


def _metrics(folder: Path) -> list[dict[str, str]]:
    with open(folder / "metrics.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_test_tile_is_scored_against_its_own_labels(prepared, tmp_path):
    shards, counts = split_shards(prepared, "test")
    tiles = list(iter_shards(shards))
    assert len(tiles) == sum(counts) > 1

    result = evaluate_shards(prepared, pointwise_model(tmp_path), out_dir=tmp_path / "report")

    assert {item.method for item in result.scores} == {"model", "dsm_only_baseline"}
    assert sorted({item.threshold_m for item in result.scores}) == [2.0, 5.0, 10.0]
    n_valid = sum(int(tile.valid.sum()) for tile in tiles)
    for item in result.scores:
        pixel = item.pixel
        # Every valid cell of every tile, and nothing else (gutters are nodata).
        assert pixel.tp + pixel.fp + pixel.fn + pixel.tn == n_valid
        reference_gap_px = sum(
            int(((tile.masks[item.threshold_m] > 0) & tile.valid).sum()) for tile in tiles
        )
        assert pixel.tp + pixel.fn == reference_gap_px
    rows = _metrics(tmp_path / "report")
    assert len(rows) == 6 and (tmp_path / "report" / "report.md").is_file()
    assert (tmp_path / "report" / "error_model_t5.png").is_file()


def test_max_tiles_scores_an_even_sample_and_says_so(prepared, tmp_path):
    result = evaluate_shards(
        prepared, pointwise_model(tmp_path), "train", [5.0], tmp_path / "some", max_tiles=3
    )
    shards, _ = split_shards(prepared, "train")
    tiles = list(iter_shards(shards))
    first = result.scores[0].pixel
    assert first.tp + first.fp + first.fn + first.tn < sum(int(t.valid.sum()) for t in tiles)
    assert any("3 of the split's" in note for note in result.notes)


def test_thresholds_without_labels_and_bad_folders_are_clear_errors(prepared, tmp_path):
    model = pointwise_model(tmp_path)
    with pytest.raises(ConfigError, match="no labels at 7 m"):
        evaluate_shards(prepared, model, thresholds_m=[7.0], out_dir=tmp_path / "a")
    with pytest.raises(DataError, match="not a prepared dataset"):
        evaluate_shards(tmp_path, model, out_dir=tmp_path / "b")
    with pytest.raises(ConfigError, match="max_tiles"):
        evaluate_shards(prepared, model, out_dir=tmp_path / "c", max_tiles=0)


def test_cli_scores_prepared_tiles_with_a_model(prepared, tmp_path):
    import torch

    from forestgaps_engine.models import create
    from forestgaps_engine.models.card import save_model
    from forestgaps_engine.models.normalization import Normalizer

    torch.manual_seed(0)
    model = create("unet_film", base_channels=4, depth=2, embedding_dim=8)
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    tiny_model_dir = save_model(model, normalizer, card_for(), tmp_path / "tiny")
    out = tmp_path / "cli"
    code = main(
        ["evaluate", "--data", str(prepared), "--model", str(tiny_model_dir),
         "--threshold", "5", "--out", str(out), "--set", "inference.backend=torch"]
    )  # fmt: skip
    assert code == 0
    rows = _metrics(out)
    assert [row["method"] for row in rows] == ["model", "dsm_only_baseline"]
    assert all(0.0 <= float(row["iou"]) <= 1.0 for row in rows)
    assert np.isfinite(float(rows[0]["accuracy"]))


def test_cli_refuses_data_with_a_dsm(prepared, tmp_path):
    code = main(["evaluate", "--data", str(prepared), "--dsm", str(tmp_path / "x.tif")])
    assert code == 2


@pytest.mark.parametrize(("model_cell_m", "noted"), [(1.05, False), (2.0, True)])
def test_tiles_off_the_models_cells_are_noted_with_predicts_tolerance(
    prepared, tmp_path, model_cell_m, noted
):
    # predict runs a 1.05 m model on 1 m cells as they are (10 % tolerance): no note then.
    model = pointwise_model(tmp_path)
    model = type(model)(
        model=model.model,
        normalizer=model.normalizer,
        card=model.card.model_copy(update={"resolution_m": model_cell_m}),
        path=model.path,
    )
    result = evaluate_shards(prepared, model, "test", [5.0], tmp_path / "report", max_tiles=2)
    assert any("tiles are not resampled here" in note for note in result.notes) == noted


@pytest.fixture(scope="module")
def mixed_cells(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sites kept on their own grids: 1 m and 2 m cells in one prepared folder."""
    folder = tmp_path_factory.mktemp("mixed") / "data"
    config = load_config(
        QUICK,
        [
            f"data.output_dir={folder}",
            "synth.size_px=128",
            "data.synthetic_sites=8",
            "synth.site_resolutions_m=[1.0, 2.0]",
            "synth.keep_site_resolutions=true",
            "data.split={train: 0.5, val: 0.0, test: 0.5}",
        ],
    )
    prepare(config)
    return folder


def test_a_split_with_several_cell_sizes_scores_one_and_names_the_others(mixed_cells, tmp_path):
    shards, _ = split_shards(mixed_cells, "test")
    per_cell: dict[float, list] = {}
    for tile in iter_shards(shards):
        per_cell.setdefault(tile.metadata["resolution_m"][0], []).append(tile)
    assert sorted(per_cell) == [1.0, 2.0], "the fixture must hold both cell sizes"
    model = pointwise_model(tmp_path)
    for cell_m, tiles in per_cell.items():
        result = evaluate_shards(
            mixed_cells, model, "test", [5.0], tmp_path / f"c{cell_m:g}", cell_size_m=cell_m
        )
        pixel = result.scores[0].pixel
        # Exactly the tiles at that cell size, each against its own labels.
        assert pixel.tp + pixel.fp + pixel.fn + pixel.tn == sum(int(t.valid.sum()) for t in tiles)
        assert pixel.tp + pixel.fn == sum(int(((t.masks[5.0] > 0) & t.valid).sum()) for t in tiles)
        other = 2.0 if cell_m == 1.0 else 1.0
        assert any(f"Others: {other:g} m ({len(per_cell[other])} tiles)" in n for n in result.notes)
    with pytest.raises(ConfigError, match="no tile at 0.5 m cells; it has 1 m"):
        evaluate_shards(mixed_cells, model, "test", [5.0], tmp_path / "none", cell_size_m=0.5)
    # The CLI takes the cell size; it belongs to --data only.
    out = tmp_path / "cli"
    args = ["evaluate", "--data", str(mixed_cells), "--threshold", "5", "--out", str(out)]
    assert main([*args, "--cell-size", "2", "--set", "inference.backend=torch"]) == 0
    assert "2 m tiles" in (out / "report.md").read_text()
    assert main(["evaluate", "--dsm", "x.tif", "--chm", "y.tif", "--cell-size", "2"]) == 2
