"""What inference needs of a model, with or without PyTorch installed.

With torch, a model folder is loaded through ``models.card.load_model`` (network, weights
hash check). Without torch, or for an exported folder that holds no weights, a folder
holding ``model_card.json`` and an exported ``model.onnx`` is enough: the card is read
and validated by ``models.card.read_card`` (pydantic, no torch), the normalization runs
in NumPy and ONNX Runtime or OpenVINO runs the graph, so nothing on this path imports
torch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forestgaps_engine.errors import ModelError
from forestgaps_engine.inference.normalize import NumpyNormalizer
from forestgaps_engine.models.card import (
    CARD_FILE,
    DEFAULT_MODEL_DIR,
    WEIGHTS_FILE,
    ModelCard,
    read_card,
)

logger = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"


@dataclass(frozen=True)
class InferenceModel:
    """A model ready for the predictor.

    Attributes:
        card: the model's ``ModelCard``.
        path: the model folder.
        normalizer: NumPy normalization of raw metres.
        network: the torch network, None without torch.
        loaded: the ``LoadedModel``, None without torch.
        onnx_path: a ``model.onnx`` to run when there is no network, else None.
    """

    card: ModelCard
    path: Path
    normalizer: NumpyNormalizer
    network: Any = None
    loaded: Any = None
    onnx_path: Path | None = None


def torch_available() -> bool:
    """Whether torch imports in this process."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def as_inference_model(model: Any) -> InferenceModel:
    """An ``InferenceModel`` from one, a ``LoadedModel``, a path or ``"default"``.

    Raises:
        ModelError: not a model; without torch, no usable ``model.onnx`` beside the card.
    """
    if isinstance(model, InferenceModel):
        return model
    if hasattr(model, "card") and hasattr(model, "model"):
        payload = model.normalizer.to_dict() if hasattr(model.normalizer, "to_dict") else {}
        return InferenceModel(
            card=model.card,
            path=Path(model.path),
            normalizer=NumpyNormalizer.from_dict(payload or model.card.normalizer),
            network=model.model,
            loaded=model,
        )
    if torch_available() and not is_exported_only(model):
        from forestgaps_engine.models.card import load_model

        return as_inference_model(load_model(model))
    return _torch_free_model(model)


def is_exported_only(model: Any) -> bool:
    """True for a folder with ``model_card.json`` and ``model.onnx`` but no weights.

    Such a folder (what a user can copy to a machine without PyTorch) runs through ONNX
    Runtime or OpenVINO even where torch is installed.
    """
    if not isinstance(model, (str, Path)):
        return False
    folder = _model_folder(model)
    if not folder.is_dir():
        return False
    has_weights = (folder / WEIGHTS_FILE).is_file() or any(folder.glob("*.pt"))
    return not has_weights and (folder / CARD_FILE).is_file() and (folder / ONNX_FILE).is_file()


def _model_folder(model: str | Path) -> Path:
    """The path ``model`` names: ``"default"`` is the bundled model's folder."""
    return DEFAULT_MODEL_DIR if str(model) == "default" else Path(model)


def model_card_file(model: str | Path) -> Path:
    """The card of a usable model: a folder or file with weights, or an exported folder.

    Imports no torch and reads no weights (the plugin's model selector calls it).

    Raises:
        ModelError: nothing usable at ``model`` (the message says what is missing).
    """
    if is_exported_only(model):
        return _model_folder(model) / CARD_FILE
    from forestgaps_engine.models.card import resolve_model_files

    return resolve_model_files(model)[0]


def _torch_free_model(model: Any) -> InferenceModel:
    folder = _model_folder(model)
    if folder.is_file():
        folder = folder.parent
    card_file, onnx_path = folder / CARD_FILE, folder / ONNX_FILE
    if not card_file.is_file():
        raise ModelError(
            f"{folder}: no {CARD_FILE}", hint="Pass the model folder written by `forestgaps train`."
        )
    if not onnx_path.is_file():
        raise ModelError(
            f"{folder}: PyTorch is not installed and there is no {ONNX_FILE} beside the card",
            hint=f"On a machine with torch run `forestgaps export {folder} --format onnx "
            f"--out {onnx_path}`, or install torch.",
        )
    card = read_card(card_file)
    logger.info("running %s without PyTorch (no torch, or no weights beside it)", onnx_path)
    return InferenceModel(
        card=card,
        path=folder,
        normalizer=NumpyNormalizer.from_dict(card.normalizer),
        onnx_path=onnx_path,
    )
