"""What the model selector shows: the model card, read without torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelInfo:
    """A model's card summary, or why there is no usable model."""

    is_available: bool
    text: str
    threshold_range_m: tuple[float, float] = (0.0, 0.0)


def describe_model(model: str) -> ModelInfo:
    """Read the card of ``model`` ("default" or a path) for the dock.

    Returns:
        Architecture, thresholds, resolution and version, or the plain reason there is none.
    """
    from forestgaps_engine.errors import ModelError
    from forestgaps_engine.inference.model_source import model_card_file
    from forestgaps_engine.inference.resample import native_range_m
    from forestgaps_engine.models.card import read_card

    try:
        card = read_card(model_card_file(model))
    except ModelError as error:
        return ModelInfo(False, f"No model available: {error.message}. {error.hint}")
    low_m, high_m = card.threshold_range_m
    thresholds = ", ".join(f"{t:g}" for t in card.thresholds_m) or "-"
    finest_m, coarsest_m = native_range_m(card)
    cells = f" (runs on {finest_m:g}–{coarsest_m:g} m cells)" if finest_m < coarsest_m else ""
    text = (
        f"{card.architecture} v{card.model_version} (id {card.model_id or '-'})\n"
        f"thresholds {thresholds} m (range {low_m:g}–{high_m:g} m), "
        f"resolution {card.resolution_m:g} m{cells}, engine {card.engine_version}"
    )
    return ModelInfo(True, text, (float(low_m), float(high_m)))


def detect_devices() -> str:
    """A sentence on the compute devices torch sees (imports torch: call on demand only)."""
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed: deep-learning prediction is unavailable."
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return f"GPU: {', '.join(names)}"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "GPU: Apple MPS"
    return "No GPU found: CPU only."
