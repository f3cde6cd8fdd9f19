"""ONNX export: the one place ForestGaps turns a network into an ONNX graph.

``export_onnx`` writes a self-contained graph (normalization and sigmoid inside) with the
model card in its metadata, optionally the keys the Deepness QGIS plugin reads, and checks
it against eager PyTorch before the file appears. ``export_logits_onnx`` writes the bare
network (normalized DSM and threshold in, logits out) that the inference backend caches.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from forestgaps_engine.errors import ModelError
from forestgaps_engine.files import atomic_path
from forestgaps_engine.models.card import load_model
from forestgaps_engine.models.export.graph import (
    CARD_METADATA_KEY,
    GRAPH_METADATA_KEY,
    GraphSpec,
    build_graph,
    example_inputs,
)
from forestgaps_engine.models.export.result import ExportResult

logger = logging.getLogger(__name__)

DEFAULT_OPSET = 17
MIN_OPSET = 17
# Deepness divides pixel values by 255 before standardizing; a std of 1/255 and a mean of 0
# hand the graph the raster's own values (metres).
DEEPNESS_STD = 1.0 / 255.0
DEEPNESS_CLASS_NAMES = {"0": "canopy", "1": "gap"}


def trace_to_onnx(
    module: Any,
    target: str | Path,
    example: tuple[Any, ...],
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: dict[str, dict[int, str]],
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Trace ``module`` with ``example`` and write the ONNX graph to ``target`` (not atomic).

    Raises:
        ModelError: the exporter rejects the module or the opset.
    """
    try:
        with warnings.catch_warnings():
            # Shape checks in forward() trace as constants: harmless, and the TorchScript
            # exporter's deprecation notice is noise for users.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                example,
                str(target),
                dynamo=False,  # the TorchScript-based exporter needs no onnxscript
                opset_version=opset,
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_axes=dynamic_axes,
            )
    except Exception as error:  # noqa: BLE001 - the exporter raises many kinds
        name = getattr(getattr(module, "model", module), "name", type(module).__name__)
        raise ModelError(
            f"cannot export model {name!r} to ONNX opset {opset} "
            f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})",
            hint="Try another --opset (17 or newer), or use --format torchscript.",
        ) from error
    return Path(target)


def export_logits_onnx(
    model: Any, target: str | Path, tile_px: int = 64, opset: int = DEFAULT_OPSET
) -> Path:
    """The bare network as ONNX: inputs ``dsm`` (normalized) and ``threshold_m``, output ``logits``.

    ``dsm`` is ``(B, 1, H, W)``, ``threshold_m`` ``(B * K,)`` (K thresholds per window,
    window-major), ``logits`` ``(B * K, 1, H, W)``.

    Args:
        model: registry network returning logits.
        target: ``.onnx`` path, written atomically.
        tile_px: side of the tracing input (height and width stay dynamic).
        opset: ONNX opset.

    Raises:
        ModelError: the exporter rejects the model.
    """
    model = model.to("cpu").eval()
    # Two thresholds per window: the graph takes (B * K,) thresholds for B windows.
    example = (torch.zeros(2, 1, tile_px, tile_px), torch.full((4,), 5.0))
    dynamic = {
        "dsm": {0: "n", 2: "h", 3: "w"},
        "threshold_m": {0: "rows"},
        "logits": {0: "rows", 2: "h", 3: "w"},
    }
    with atomic_path(target) as temp_path:
        trace_to_onnx(model, temp_path, example, ["dsm", "threshold_m"], ["logits"], dynamic, opset)
    return Path(target)


def deepness_metadata(card: Any, tile_size_px: int, overlap_px: int) -> dict[str, str]:
    """Metadata keys read by the Deepness plugin (values JSON-encoded, as it parses them).

    Args:
        card: the ``ModelCard`` (resolution).
        tile_size_px: tile side Deepness should cut, pixels.
        overlap_px: overlap between tiles, pixels (Deepness wants percent of the tile).
    """
    return {
        "model_type": json.dumps("Segmentor"),
        "class_names": json.dumps(DEEPNESS_CLASS_NAMES),
        "resolution": json.dumps(round(card.resolution_m * 100.0, 6)),
        "tile_size": json.dumps(int(tile_size_px)),
        "tiles_overlap": json.dumps(int(round(100.0 * overlap_px / tile_size_px))),
        "standardization_mean": json.dumps([0.0]),
        "standardization_std": json.dumps([DEEPNESS_STD]),
        "seg_thresh": json.dumps(0.5),
    }


def graph_spec_for(
    include_normalization: bool,
    deepness: bool,
    fixed_threshold_m: float | None,
    tile_size_px: int,
) -> GraphSpec:
    """The graph to export for these options.

    Deepness feeds one RGB-like input of fixed square tiles and reads class maps, so its
    graph has the threshold baked in, no valid input and a two-class output.

    Raises:
        ModelError: Deepness asked without a fixed threshold or without normalization.
    """
    if not deepness:
        return GraphSpec(
            include_normalization=include_normalization,
            has_valid_input=include_normalization,
            fixed_threshold_m=fixed_threshold_m,
            shares_windows=fixed_threshold_m is None,
        )
    if fixed_threshold_m is None:
        raise ModelError(
            "a Deepness export needs a fixed gap threshold (Deepness feeds a single input)",
            hint="Add --threshold METRES (for example --threshold 10).",
        )
    if not include_normalization:
        raise ModelError(
            "a Deepness export needs the normalization inside the graph "
            "(Deepness feeds raw raster values)",
            hint="Drop --no-normalization when exporting with --deepness.",
        )
    if fixed_threshold_m <= 0:
        raise ModelError(
            f"threshold {fixed_threshold_m!r} m is not positive", hint="Use e.g. --threshold 10."
        )
    return GraphSpec(
        include_normalization=True,
        has_valid_input=False,
        fixed_threshold_m=float(fixed_threshold_m),
        two_class=True,
        tile_size_px=int(tile_size_px),
    )


def _write_graph(loaded: Any, temp_path: Path, spec: GraphSpec, opset: int) -> None:
    """Trace the export graph of ``loaded`` into ``temp_path``."""
    graph = build_graph(loaded, spec)
    trace_px = spec.tile_size_px or 64
    example = example_inputs(spec, 2, trace_px, trace_px)
    dynamic: dict[str, dict[int, str]] = {}
    for name in spec.input_names:
        is_image = name != "threshold_m"
        dynamic[name] = {0: "batch"}
        if is_image and spec.tile_size_px is None:
            dynamic[name].update({2: "height", 3: "width"})
    dynamic[spec.output_name] = dict(dynamic[spec.input_names[0]])
    if spec.shares_windows:
        # K thresholds per window: the threshold and output rows are their own axis.
        dynamic["threshold_m"] = {0: "rows"}
        dynamic[spec.output_name][0] = "rows"
    trace_to_onnx(graph, temp_path, example, spec.input_names, [spec.output_name], dynamic, opset)


def _add_metadata(path: Path, metadata: dict[str, str]) -> None:
    import onnx

    model_proto = onnx.load(str(path))
    existing = {entry.key: entry.value for entry in model_proto.metadata_props}
    existing.update(metadata)
    onnx.helper.set_model_props(model_proto, existing)
    onnx.save(model_proto, str(path))


def export_onnx(
    loaded: Any,
    out_path: str | Path,
    opset: int = DEFAULT_OPSET,
    include_normalization: bool = True,
    deepness: bool = False,
    tile_size_px: int = 512,
    overlap_px: int = 64,
    fixed_threshold_m: float | None = None,
    check: bool = True,
) -> ExportResult:
    """Export a model to a self-contained ONNX file, checked against eager PyTorch.

    Graph (``include_normalization=True``): inputs ``dsm_m (B, 1, H, W)`` float32 raw
    heights in metres (NaN allowed), ``valid (B, 1, H, W)`` float32 (1 = valid cell) and
    ``threshold_m (B,)`` float32 metres; output ``probability (B, 1, H, W)`` float32 gap
    probability. With ``include_normalization=False`` the input is ``dsm_norm``, heights
    already normalized with the card's normalizer, and there is no ``valid`` input. B, H and
    W are dynamic. Metadata: ``forestgaps_model_card`` (card JSON) and ``forestgaps_graph``
    (the ``GraphSpec``).

    With ``deepness=True`` (needs ``fixed_threshold_m``): one input ``dsm_m
    (B, 1, tile_size_px, tile_size_px)``, output ``class_probability (B, 2, T, T)``
    (canopy, gap), and the Deepness keys ``model_type``, ``class_names``, ``resolution``
    (cm/px), ``tile_size``, ``tiles_overlap`` (%), ``standardization_mean``/``_std``.

    Args:
        loaded: ``LoadedModel`` or model path.
        out_path: ``.onnx`` file, written atomically (nothing appears on failure).
        opset: ONNX opset, 17 or newer.
        include_normalization: normalization inside the graph.
        deepness: write the Deepness graph and keys.
        tile_size_px: Deepness tile side, pixels.
        overlap_px: Deepness tile overlap, pixels.
        fixed_threshold_m: bake this threshold in (no ``threshold_m`` input), metres.
        check: compare with eager PyTorch and refuse a difference above 1e-4.

    Returns:
        ``out_path`` and the parity figures (None without ``check``).

    Raises:
        ModelError: not a model, export failure, or parity above 1e-4.
        DataError: the output folder cannot be written.
    """
    from forestgaps_engine.models.export.parity import check_parity, require_parity

    if opset < MIN_OPSET:
        raise ModelError(
            f"ONNX opset {opset} is too old (need {MIN_OPSET} or newer)",
            hint=f"Use --opset {DEFAULT_OPSET}.",
        )
    if not 0 <= overlap_px < tile_size_px:
        raise ModelError(
            f"overlap {overlap_px} px must be in [0, tile size {tile_size_px} px)",
            hint="Use a smaller --overlap or a larger --tile-size.",
        )
    loaded = load_model(loaded)
    spec = graph_spec_for(include_normalization, deepness, fixed_threshold_m, tile_size_px)
    metadata = {
        CARD_METADATA_KEY: loaded.card.model_dump_json(),
        GRAPH_METADATA_KEY: spec.to_json(),
    }
    if deepness:
        metadata.update(deepness_metadata(loaded.card, tile_size_px, overlap_px))
    target = Path(out_path)
    with atomic_path(target) as temp_path:
        _write_graph(loaded, temp_path, spec, opset)
        _add_metadata(temp_path, metadata)
        parity = require_parity(check_parity(loaded, temp_path, "onnx"), target) if check else None
    logger.info("exported %s to ONNX: %s", loaded.card.architecture, target)
    return ExportResult(path=target, format="onnx", parity=parity)
