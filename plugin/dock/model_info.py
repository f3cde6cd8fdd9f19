"""What the model selector and the device check show, read on demand.

Nothing here imports the engine's heavy parts at module import: the panel must open in a
QGIS with none of ForestGaps' dependencies, and say what to install instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..deps import missing_dependencies
from ..translation import tr


@dataclass(frozen=True)
class ModelInfo:
    """A model's card summary, or why there is no usable model."""

    is_available: bool
    text: str
    threshold_range_m: tuple[float, float] = (0.0, 0.0)


def install_advice() -> str:
    """The sentence pointing at the panel's install button."""
    return tr("Click “Install dependencies…” above, then restart QGIS.")


def describe_model(model: str) -> ModelInfo:
    """Read the card of ``model`` ("default" or a path) for the dock.

    Returns:
        Architecture, thresholds, resolution and version, or the plain reason there is none
        (a missing package included: reading a card needs the core dependencies).
    """
    missing = missing_dependencies(["core"])
    if missing:
        return ModelInfo(
            False,
            tr("The model card cannot be read: {0} missing. {1}").format(
                ", ".join(missing), install_advice()
            ),
        )
    try:
        from forestgaps_engine.errors import ModelError
        from forestgaps_engine.geo.resample import native_range_m
        from forestgaps_engine.inference.model_source import model_card_file
        from forestgaps_engine.models.card import read_card
    except ModuleNotFoundError as error:  # a package present but broken (a half install)
        return ModelInfo(
            False,
            tr("The model card cannot be read: {0} missing. {1}").format(
                error.name, install_advice()
            ),
        )
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
    """Which model runtimes work here, with versions and devices (imports each: on demand).

    Returns:
        "Deep-learning prediction is available: ..." when PyTorch, ONNX Runtime or OpenVINO
        works, else why it is unavailable and how to install one.
    """
    from forestgaps_engine.environment.detect import describe_runtimes, detect_runtimes

    runtimes = detect_runtimes()
    text = describe_runtimes(runtimes)
    if not any(runtime.is_working for runtime in runtimes):
        text = f"{text} {install_advice()}"
    return text
