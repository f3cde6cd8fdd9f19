"""``forestgaps export`` end to end, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forestgaps_engine.cli.main import main
from forestgaps_engine.errors import DataError, ModelError
from forestgaps_engine.models.card import ModelCard, save_model
from forestgaps_engine.models.export import export_model
from forestgaps_engine.models.normalization import Normalizer

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture
def model_folder(build_tiny, tmp_path: Path) -> Path:
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 25.0})
    card = ModelCard(threshold_range_m=(2.0, 15.0), resolution_m=1.0)
    return save_model(build_tiny("unet"), normalizer, card, tmp_path / "model")


def _parity_line(output: str) -> dict[str, float]:
    line = next(row for row in output.splitlines() if row.startswith("parity"))
    return json.loads(line.split(": ", 1)[1])


@pytest.mark.parametrize(
    ("fmt", "name"), [("onnx", "gaps.onnx"), ("torchscript", "gaps.pt"), ("native", "copy")]
)
def test_cli_exports_and_prints_path_and_parity(
    model_folder: Path, tmp_path: Path, capsys, fmt: str, name: str
) -> None:
    out = tmp_path / "exports" / name
    code = main(["export", str(model_folder), "--format", fmt, "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == str(out)
    assert out.exists()
    parity = _parity_line(printed)
    assert set(parity) == {"1x64x64", "2x96x80", "2x96x80x3t"}
    assert max(parity.values()) <= 1e-4


def test_cli_deepness_export(model_folder: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "deepness.onnx"
    code = main(
        [
            "export",
            str(model_folder),
            "--out",
            str(out),
            "--deepness",
            "--threshold",
            "10",
            "--tile-size",
            "64",
            "--overlap",
            "16",
        ]
    )
    assert code == 0
    assert max(_parity_line(capsys.readouterr().out).values()) <= 1e-4
    keys = {entry.key for entry in onnx.load(str(out)).metadata_props}
    assert {"model_type", "class_names", "resolution", "tile_size", "tiles_overlap"} <= keys
    assert {"standardization_mean", "standardization_std", "forestgaps_model_card"} <= keys


def test_not_a_model_is_a_model_error(tmp_path: Path, capsys) -> None:
    not_model = tmp_path / "notes.txt"
    not_model.write_text("hello", "utf-8")
    with pytest.raises(ModelError, match="not a model file"):
        export_model(not_model, tmp_path / "x.onnx")
    with pytest.raises(ModelError, match="model not found"):
        export_model(tmp_path / "missing", tmp_path / "x.onnx")
    code = main(["export", str(not_model), "--out", str(tmp_path / "x.onnx")])
    assert code == 2
    assert "not a model file" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "native"])
def test_unwritable_output_folder_is_a_clear_error(
    model_folder: Path, tmp_path: Path, fmt: str
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("", "utf-8")
    # a folder under a regular file cannot be created, even by root
    with pytest.raises(DataError, match="cannot be created"):
        export_model(model_folder, blocker / "sub" / "model.out", format=fmt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "model"]


def test_options_that_do_not_fit_the_format(model_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="apply to ONNX"):
        export_model(model_folder, tmp_path / "m.pt", format="torchscript", deepness=True)
    with pytest.raises(ModelError, match="opset"):
        export_model(model_folder, tmp_path / "m.onnx", opset=11)
    with pytest.raises(ModelError, match="Deepness"):
        export_model(
            model_folder,
            tmp_path / "m.onnx",
            include_normalization=False,
            deepness=True,
            fixed_threshold_m=10.0,
        )
    assert not list(tmp_path.glob("m.*"))
