"""Fixtures: a seeded tiny model saved with save_model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from forestgaps_engine.models import create
from forestgaps_engine.models.card import LoadedModel, load_model, save_model
from forestgaps_engine.models.normalization import Normalizer
from tests.inference.helpers import card_for


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random-init FiLM U-Net saved with save_model."""
    torch.manual_seed(0)
    model = create("unet_film", base_channels=4, depth=2, embedding_dim=8)
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    return save_model(model, normalizer, card_for(), tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture
def tiny_model(tiny_model_dir: Path) -> LoadedModel:
    return load_model(tiny_model_dir)


@pytest.fixture(autouse=True)
def onnx_cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ONNX exports go to the test's folder, never to the user's cache."""
    monkeypatch.setenv("FORESTGAPS_CACHE_DIR", str(tmp_path / "cache"))
