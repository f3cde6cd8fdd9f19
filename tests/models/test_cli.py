"""``forestgaps models``: listing, JSON and the docs table."""

from __future__ import annotations

import json

from forestgaps_engine.cli.main import main
from forestgaps_engine.models import available_models


def test_models_json_lists_every_model(capsys) -> None:
    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["name"] for item in listed] == available_models()
    assert all(item["param_count"] > 0 and item["gflops_per_256_tile"] > 0 for item in listed)


def test_models_table(capsys) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "unet_film_cbam" in out and "GFLOPs" in out


def test_write_doc(tmp_path) -> None:
    target = tmp_path / "models.md"
    assert (
        main(["models", "--write-doc", str(target), "--tile-size-px", "64", "--repeats", "1"]) == 0
    )
    text = target.read_text()
    for name in available_models():
        assert f"`{name}`" in text
    assert "64 x 64 px" in text
