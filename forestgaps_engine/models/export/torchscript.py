"""TorchScript export: the same graph as ONNX (normalization, network, sigmoid), traced.

The file loads with ``torch.jit.load`` alone, without ForestGaps; the model card and the
graph description travel inside it as extra files.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import torch

from forestgaps_engine.errors import ModelError
from forestgaps_engine.files import atomic_path
from forestgaps_engine.models.card import load_model
from forestgaps_engine.models.export.graph import GraphSpec, build_graph, example_inputs
from forestgaps_engine.models.export.result import ExportResult

logger = logging.getLogger(__name__)

CARD_EXTRA_FILE = "model_card.json"
GRAPH_EXTRA_FILE = "graph.json"


def export_torchscript(
    loaded: Any, out_path: str | Path, include_normalization: bool = True, check: bool = True
) -> ExportResult:
    """Export a model to a traced TorchScript file, checked against eager PyTorch.

    Call: ``module(dsm_m (B, 1, H, W) metres, valid (B, 1, H, W) 0/1, threshold_m (B,)
    metres) -> (B, 1, H, W)`` gap probability; with ``include_normalization=False``,
    ``module(dsm_norm, threshold_m)``. B, H and W are free. Extra files:
    ``model_card.json`` and ``graph.json`` (the ``GraphSpec``).

    Args:
        loaded: ``LoadedModel`` or model path.
        out_path: ``.pt`` file, written atomically.
        include_normalization: normalization inside the module.
        check: compare with eager PyTorch and refuse a difference above 1e-4.

    Returns:
        ``out_path`` and the parity figures (None without ``check``).

    Raises:
        ModelError: not a model, tracing failure, or parity above 1e-4.
        DataError: the output folder cannot be written.
    """
    from forestgaps_engine.models.export.parity import check_parity, require_parity

    loaded = load_model(loaded)
    spec = GraphSpec(
        include_normalization=include_normalization,
        has_valid_input=include_normalization,
        shares_windows=True,
    )
    graph = build_graph(loaded, spec)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            traced = torch.jit.trace(graph, example_inputs(spec, 2, 64, 64), check_trace=False)
    except Exception as error:  # noqa: BLE001 - tracing raises many kinds
        raise ModelError(
            f"cannot trace model {loaded.card.architecture!r} to TorchScript ({error})",
            hint="Use --format onnx or --format native.",
        ) from error
    extra_files = {
        CARD_EXTRA_FILE: loaded.card.model_dump_json(),
        GRAPH_EXTRA_FILE: spec.to_json(),
    }
    target = Path(out_path)
    parity = None
    with atomic_path(target) as temp_path:
        with warnings.catch_warnings():
            # TorchScript is deprecated upstream but is what C++/mobile consumers load
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.save(traced, str(temp_path), _extra_files=extra_files)
        if check:
            parity = require_parity(check_parity(loaded, temp_path, "torchscript"), target)
    logger.info("exported %s to TorchScript: %s", loaded.card.architecture, target)
    return ExportResult(path=target, format="torchscript", parity=parity)


def load_torchscript(path: str | Path) -> tuple[Any, dict[str, Any], GraphSpec]:
    """Load an exported TorchScript file.

    Returns:
        (module in eval mode, model card as a dict, graph spec).

    Raises:
        ModelError: not a ForestGaps TorchScript export.
    """
    extra_files = {CARD_EXTRA_FILE: "", GRAPH_EXTRA_FILE: ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra_files)
        card = json.loads(extra_files[CARD_EXTRA_FILE])
        spec = GraphSpec.from_json(extra_files[GRAPH_EXTRA_FILE])
    except (RuntimeError, ValueError, TypeError, OSError) as error:
        raise ModelError(
            f"{path}: not a ForestGaps TorchScript export ({error})",
            hint="Export it again with `forestgaps export MODEL --format torchscript`.",
        ) from error
    return module.eval(), card, spec
