"""Model files: save/load round trip, and every bad file refused with a ModelError."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from forestgaps_engine.cli.main import main
from forestgaps_engine.errors import ModelError
from forestgaps_engine.models import create
from forestgaps_engine.models.card import (
    CARD_FILE,
    WEIGHTS_FILE,
    ModelCard,
    load_model,
    read_card,
    save_model,
)
from forestgaps_engine.models.normalization import Normalizer


def _card() -> ModelCard:
    return ModelCard(thresholds_m=[2.0, 5.0], threshold_range_m=(2.0, 10.0), resolution_m=1.0)


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    torch.manual_seed(1)
    model = create("unet", base_channels=4, depth=2)
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 25.0})
    return save_model(model, normalizer, _card(), tmp_path / "model")


def test_round_trip_rebuilds_the_same_network(saved: Path):
    loaded = load_model(saved)
    assert loaded.card.architecture == "unet"
    assert loaded.card.params["base_channels"] == 4
    assert len(loaded.card.model_id) == 12
    assert loaded.normalizer.to_dict()["stats"]["relief_range_m"] == 25.0
    again = load_model(saved / WEIGHTS_FILE)
    dsm, thresholds = torch.randn(1, 1, 32, 32), torch.tensor([5.0])
    with torch.no_grad():
        assert torch.equal(loaded.model(dsm, thresholds), again.model(dsm, thresholds))
    assert load_model(saved / CARD_FILE).card == loaded.card
    assert load_model(loaded) is loaded


class _Exploit:
    """Unpickling this object would create a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_malicious_pickle_is_refused_without_running_code(saved: Path, tmp_path: Path):
    marker = tmp_path / "marker.txt"
    evil = saved.parent / "evil"
    evil.mkdir()
    (evil / CARD_FILE).write_text((saved / CARD_FILE).read_text())
    checkpoint = evil / "model.pt"
    with checkpoint.open("wb") as handle:
        pickle.dump({"state_dict": _Exploit(marker)}, handle)
    torch.save({"state_dict": _Exploit(marker)}, evil / "zip.pt")
    for path in (checkpoint, evil / "zip.pt"):
        with pytest.raises(ModelError, match="refused to load") as caught:
            load_model(path)
        assert str(path) in caught.value.message
        assert not marker.exists()


def test_weights_only_pt_checkpoint_loads(saved: Path):
    loaded = load_model(saved)
    torch.save({"state_dict": loaded.model.state_dict()}, saved / "checkpoint.pt")
    assert load_model(saved / "checkpoint.pt").card.architecture == "unet"


def test_not_a_model_and_missing_card(tmp_path: Path, saved: Path):
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / WEIGHTS_FILE).write_bytes(b"this is not safetensors")
    (junk / CARD_FILE).write_text((saved / CARD_FILE).read_text())
    with pytest.raises(ModelError, match="not a safetensors"):
        load_model(junk)
    (junk / CARD_FILE).unlink()
    with pytest.raises(ModelError, match="no model_card.json"):
        load_model(junk / WEIGHTS_FILE)
    (tmp_path / "dsm.tif").write_bytes(b"x")
    with pytest.raises(ModelError, match="not a model file"):
        load_model(tmp_path / "dsm.tif")
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "nowhere")


def _edit_card(folder: Path, **changes: object) -> None:
    payload = json.loads((folder / CARD_FILE).read_text())
    payload.update(changes)
    (folder / CARD_FILE).write_text(json.dumps(payload))


def test_unknown_architecture_and_mismatched_weights(saved: Path):
    _edit_card(saved, architecture="no_such_net")
    with pytest.raises(ModelError, match="no_such_net"):
        load_model(saved)
    _edit_card(saved, architecture="unet", params={"base_channels": 8, "depth": 2})
    with pytest.raises(ModelError, match="do not fit"):
        load_model(saved)


def test_weights_from_another_model_fail_the_hash_check(saved: Path):
    _edit_card(saved, model_id="0123456789ab")
    with pytest.raises(ModelError, match="does not match"):
        load_model(saved)


def test_invalid_card_fields(saved: Path):
    _edit_card(saved, resolution_m=-1)
    with pytest.raises(ModelError, match="resolution_m"):
        read_card(saved / CARD_FILE)


def test_missing_default_model_says_how_to_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr("forestgaps_engine.models.card.DEFAULT_MODEL_DIR", tmp_path / "absent")
    with pytest.raises(ModelError, match="default model is not installed") as caught:
        load_model("default")
    assert "--model PATH" in caught.value.hint


def test_model_info_prints_the_card(saved: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["model-info", str(saved)]) == 0
    assert "unet" in capsys.readouterr().out
    assert main(["model-info", str(saved), "--json", "--check"]) == 0
    assert json.loads(capsys.readouterr().out)["architecture"] == "unet"
    assert main(["model-info", str(saved.parent / "missing")]) == 2


def test_saving_the_same_weights_twice_gives_the_same_model_id(tmp_path: Path):
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 25.0})
    ids = set()
    for attempt in range(4):
        torch.manual_seed(1)
        model = create("unet", base_channels=4, depth=2)
        ids.add(read_card(save_model(model, normalizer, _card(), tmp_path / f"m{attempt}") / CARD_FILE).model_id)
    assert len(ids) == 1
