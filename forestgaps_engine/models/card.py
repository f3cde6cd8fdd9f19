"""The model-file format: a folder with ``model.safetensors`` and ``model_card.json``.

The card says how to rebuild the network (architecture name and init parameters, looked
up in the registry), how its inputs were normalized, and what it was trained on. Loading
never unpickles: weights come from safetensors, or from a ``.pt`` read with
``torch.load(weights_only=True)``, which refuses any object that is not plain tensors and
containers.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from forestgaps_engine.config.model import check_native_resolutions
from forestgaps_engine.errors import ModelError
from forestgaps_engine.files import atomic_path, ensure_writable_dir
from forestgaps_engine.version import __version__

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "model_card.json"
# Repository top level (and, in the plugin zip, the folder beside forestgaps_engine/).
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "resources" / "models" / "default"
# The bundled model that takes a coarse terrain prior (configs/pretrained_terrain.yaml).
DEFAULT_TERRAIN_MODEL_DIR = DEFAULT_MODEL_DIR.parent / "terrain"
MODEL_ID_LENGTH = 12


def _now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sized_in_metres(card: Any) -> bool:
    """Whether a model's layers are sized in metres (its outputs depend on the cell size)."""
    params = getattr(card, "params", None) or {}
    return float(params.get("ground_window_m") or 0.0) > 0.0


class ModelCard(BaseModel):
    """Everything needed to rebuild, trust and describe a trained model.

    Attributes:
        architecture: registry name of the network (``forestgaps_engine.models.create``).
        params: init parameters passed to ``create``.
        normalizer: ``Normalizer.to_dict()`` of the input normalization.
        thresholds_m: height thresholds seen in training, metres.
        threshold_range_m: (min, max) of the thresholds the model is meant for, metres.
        resolution_m: cell size of the training rasters, metres.
        native_resolutions_m: (min, max) cell sizes the model predicts on without
            resampling, measured on held-out sites (None: ``resolution_m`` alone); DSMs
            outside are resampled to the nearer end.
        tile_size_px: training tile size.
        data_manifest_hash: hash of the prepared dataset's manifest.
        metrics: validation metrics (name -> value).
        engine_version: ForestGaps version that wrote the model.
        model_version: semantic version of this model.
        created_utc: ISO 8601 creation time.
        model_id: first 12 hex digits of the SHA-256 of the weights file (set on save).
        training_precision: ``fp32``, ``bf16`` or ``fp16``, the precision the weights were
            trained in (None: not recorded, cards before it was).
        data_sources: where the real sites trained on come from (one entry per source
            folder: folder, repo, licence, note, sites), from the prepared manifest's
            provenance; None: synthetic data only, or not recorded.
        uses_terrain_prior: the model takes a coarse terrain model (DEM) beside the DSM
            (``predict --terrain-prior``); False for models trained on the DSM alone.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    architecture: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    normalizer: dict[str, Any] = Field(default_factory=dict)
    thresholds_m: list[float] = Field(default_factory=list)
    threshold_range_m: tuple[float, float] = (0.0, 0.0)
    resolution_m: float = Field(default=1.0, gt=0.0)
    native_resolutions_m: tuple[float, float] | None = None
    tile_size_px: int = Field(default=256, ge=1)
    data_manifest_hash: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)
    engine_version: str = __version__
    model_version: str = "0.1.0"
    created_utc: str = Field(default_factory=_now_utc)
    model_id: str = ""
    training_precision: Literal["fp32", "bf16", "fp16"] | None = None
    data_sources: list[dict[str, Any]] | None = None
    uses_terrain_prior: bool = False

    @model_validator(mode="after")
    def _native_range_holds_the_training_resolution(self) -> ModelCard:
        if self.native_resolutions_m is not None:
            check_native_resolutions(self.native_resolutions_m, self.resolution_m)
        return self

    def describe(self) -> str:
        """Human summary, one fact per line."""
        low, high = self.threshold_range_m
        lines = [
            f"model id        {self.model_id}",
            f"model version   {self.model_version}",
            f"architecture    {self.architecture} {json.dumps(self.params, sort_keys=True)}",
            f"thresholds (m)  {', '.join(f'{t:g}' for t in self.thresholds_m)} "
            f"(range {low:g}..{high:g})",
            f"resolution (m)  {self.resolution_m:g}"
            + (
                f" (native {self.native_resolutions_m[0]:g}..{self.native_resolutions_m[1]:g})"
                if self.native_resolutions_m
                else ""
            ),
            f"tile size (px)  {self.tile_size_px}",
            f"normalizer      {json.dumps(self.normalizer, sort_keys=True)}",
            f"data manifest   {self.data_manifest_hash or '-'}",
            f"precision       {self.training_precision or '-'}",
            f"terrain prior   {'used' if self.uses_terrain_prior else 'not used'}",
            f"engine version  {self.engine_version}",
            f"created (UTC)   {self.created_utc}",
        ]
        lines += [f"metric          {name} = {value:.4g}" for name, value in self.metrics.items()]
        return "\n".join(lines)


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for inference.

    Attributes:
        model: the network in eval mode (returns logits).
        normalizer: the input normalization module.
        card: the model card (``model_id`` is the weights' hash).
        path: the folder or file it was loaded from.
    """

    model: Any
    normalizer: Any
    card: ModelCard
    path: Path


def _weights_hash(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()[:MODEL_ID_LENGTH]


def save_model(model: Any, normalizer: Any, card: ModelCard, out_dir: str | Path) -> Path:
    """Write ``model.safetensors`` and ``model_card.json`` into ``out_dir``, atomically.

    Architecture, params and normalizer in the card are taken from the objects themselves,
    so the card always describes the saved weights; the card is written last, so a folder
    with a card always has complete weights.

    Args:
        model: registry model (attributes ``name`` and ``config``).
        normalizer: ``Normalizer`` (``to_dict()``).
        card: training facts (thresholds, resolution, metrics, versions...).
        out_dir: folder to write (created if needed).

    Returns:
        The model folder.
    """
    from safetensors.torch import save as save_tensors

    folder = ensure_writable_dir(out_dir)
    state = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
    # One metadata key only: safetensors serializes metadata from a hash map, so several keys
    # come out in random order and the weights hash (model_id) would change between saves.
    payload = save_tensors(state, metadata={"format": "pt"})
    card = card.model_copy(
        update={
            "architecture": model.name,
            "params": model.config.model_dump(mode="json"),
            "normalizer": normalizer.to_dict(),
            "uses_terrain_prior": bool(getattr(model, "uses_terrain_prior", False)),
            "model_id": _weights_hash(payload),
        }
    )
    with atomic_path(folder / WEIGHTS_FILE) as temp_path:
        temp_path.write_bytes(payload)
    with atomic_path(folder / CARD_FILE) as temp_path:
        temp_path.write_text(card.model_dump_json(indent=2) + "\n", "utf-8")
    logger.info("saved model %s (%s) to %s", card.model_id, card.architecture, folder)
    return folder


def resolve_model_files(path: str | Path) -> tuple[Path, Path]:
    """(card file, weights file) for a folder, a card, a ``.safetensors`` or a ``.pt``.

    ``"default"`` names the bundled model in ``resources/models/default/``.

    Raises:
        ModelError: nothing usable at ``path``.
    """
    if str(path) == "default":
        if not (DEFAULT_MODEL_DIR / CARD_FILE).is_file():
            raise ModelError(
                f"the default model is not installed (expected {DEFAULT_MODEL_DIR / CARD_FILE})",
                hint="Pass a trained model folder with --model PATH (see docs/training.md).",
            )
        path = DEFAULT_MODEL_DIR
    path = Path(path)
    if not path.exists():
        raise ModelError(
            f"{path}: model not found",
            hint="Pass a model folder holding model.safetensors and model_card.json.",
        )
    if path.is_dir():
        folder, weights = path, path / WEIGHTS_FILE
        if not weights.is_file():
            candidates = sorted(path.glob("*.pt"))
            weights = candidates[0] if len(candidates) == 1 else weights
    elif path.name == CARD_FILE or path.suffix == ".json":
        folder, weights = path.parent, path.parent / WEIGHTS_FILE
    elif path.suffix in (".safetensors", ".pt", ".pth", ".ckpt"):
        folder, weights = path.parent, path
    else:
        raise ModelError(
            f"{path}: not a model file (expected a folder, {CARD_FILE}, .safetensors or .pt)",
            hint="Pass the folder written by `forestgaps train`.",
        )
    card_file = path if path.suffix == ".json" else folder / CARD_FILE
    if not card_file.is_file():
        raise ModelError(
            f"{path}: no {CARD_FILE} beside the weights (in {folder})",
            hint="Keep model_card.json in the same folder as the weights, as train writes it.",
        )
    if not weights.is_file():
        raise ModelError(
            f"{folder}: no weights ({WEIGHTS_FILE}) beside {card_file.name}",
            hint="Copy the whole model folder, weights included.",
        )
    return card_file, weights


def read_card(card_file: str | Path) -> ModelCard:
    """Parse and validate a model card.

    Raises:
        ModelError: unreadable JSON or invalid fields.
    """
    card_file = Path(card_file)
    try:
        payload = json.loads(card_file.read_text("utf-8"))
        return ModelCard.model_validate(payload)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(
            f"{card_file}: not a readable model card ({error})",
            hint="Restore model_card.json from the model folder written by train.",
        ) from error
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'card'}: {item['msg']}"
            for item in error.errors()
        )
        raise ModelError(
            f"{card_file}: invalid model card ({problems})",
            hint="The card was written by another ForestGaps version or edited by hand.",
        ) from error


def _read_state_dict(weights: Path) -> tuple[dict[str, Any], str | None]:
    """Tensors of ``weights`` and the file's hash (None for ``.pt``), never unpickling."""
    import torch

    if weights.suffix == ".safetensors":
        from safetensors.torch import load as load_tensors

        payload = weights.read_bytes()
        try:
            return load_tensors(payload), _weights_hash(payload)
        except Exception as error:  # noqa: BLE001 - safetensors raises several kinds
            raise ModelError(
                f"{weights}: not a safetensors weights file ({error})",
                hint="Re-export the model with `forestgaps train` or save_model().",
            ) from error
    try:
        loaded = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - UnpicklingError, RuntimeError, EOFError...
        raise ModelError(
            f"{weights}: refused to load: not a plain tensor checkpoint "
            f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})",
            hint="Only safetensors or weights-only .pt files are loaded (never arbitrary pickles); "
            "convert a trusted checkpoint with save_model().",
        ) from error
    if isinstance(loaded, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(loaded.get(key), dict):
                loaded = loaded[key]
                break
    if not isinstance(loaded, dict) or not all(
        isinstance(value, torch.Tensor) for value in loaded.values()
    ):
        raise ModelError(
            f"{weights}: holds no state dict of tensors",
            hint="Pass the model folder written by `forestgaps train`.",
        )
    return loaded, None


def load_model(path: Any) -> LoadedModel:
    """Load a model folder (or its card / weights file), rebuilding it through the registry.

    Args:
        path: model folder, ``model_card.json``, ``model.safetensors``, a weights-only
            ``.pt``, ``"default"``, or an already ``LoadedModel`` (returned as is).

    Returns:
        The model in eval mode with its normalizer and card.

    Raises:
        ModelError: not a model, missing card, unknown architecture, weights that do not
            match the architecture or the card's hash.
    """
    if isinstance(path, LoadedModel):
        return path
    # torch: this module stays importable without it (the panel reads cards in a light install)
    from forestgaps_engine.models import available_models, create
    from forestgaps_engine.models.normalization import Normalizer

    card_file, weights = resolve_model_files(path)
    card = read_card(card_file)
    if not card.architecture:
        raise ModelError(f"{card_file}: the card names no architecture", hint="Re-save the model.")
    try:
        model = create(card.architecture, **card.params)
    except (KeyError, ValueError, TypeError) as error:
        raise ModelError(
            f"{card_file}: cannot build architecture {card.architecture!r} with params "
            f"{card.params} ({error}); available: {', '.join(available_models())}",
            hint="Upgrade ForestGaps to the version that wrote this model "
            f"({card.engine_version}).",
        ) from error
    state, digest = _read_state_dict(weights)
    if digest is not None and card.model_id and digest != card.model_id:
        raise ModelError(
            f"{weights}: weights hash {digest} does not match the card's model_id {card.model_id}",
            hint="The weights and the card come from different models; copy the whole folder again.",
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first_lines = " ".join(str(error).split())[:300]
        raise ModelError(
            f"{weights}: weights do not fit architecture {card.architecture!r} ({first_lines})",
            hint="The card and the weights come from different models; re-save with save_model().",
        ) from error
    try:
        normalizer = Normalizer.from_dict(card.normalizer)
    except (KeyError, ValueError, TypeError) as error:
        raise ModelError(
            f"{card_file}: invalid normalizer {card.normalizer} ({error})",
            hint="Re-save the model with save_model().",
        ) from error
    model.eval()
    normalizer.eval()
    if hasattr(model, "set_cell_size_m"):
        model.set_cell_size_m(card.resolution_m)
    if not card.model_id and digest:
        card = card.model_copy(update={"model_id": digest})
    return LoadedModel(model=model, normalizer=normalizer, card=card, path=Path(weights).parent)
