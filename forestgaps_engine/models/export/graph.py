"""The module every export traces: raw DSM metres in, gap probability out.

The network alone takes normalized heights and returns logits; a deployed file should not
need ForestGaps beside it, so the exported graph carries the normalization (statistics
baked in as constants) and the sigmoid. ``GraphSpec`` says which inputs and outputs a graph
has; it is written into the exported file so parity checks and readers rebuild the same
call.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from forestgaps_engine.errors import ModelError

RAW_DSM_INPUT = "dsm_m"
NORMALIZED_DSM_INPUT = "dsm_norm"
VALID_INPUT = "valid"
THRESHOLD_INPUT = "threshold_m"
PROBABILITY_OUTPUT = "probability"
CLASS_OUTPUT = "class_probability"
GRAPH_METADATA_KEY = "forestgaps_graph"
CARD_METADATA_KEY = "forestgaps_model_card"


@dataclass(frozen=True)
class GraphSpec:
    """Inputs and outputs of an exported graph.

    Attributes:
        include_normalization: the graph takes raw heights (metres) and normalizes them
            itself; otherwise it takes heights already normalized by the model's
            ``Normalizer``.
        has_valid_input: a ``valid`` mask input (1 = valid cell) sits beside the DSM
            (only with normalization; non-finite heights are invalid in any case).
        fixed_threshold_m: threshold baked into the graph (no ``threshold_m`` input), metres.
        two_class: output ``(B, 2, H, W)`` = (canopy, gap) probabilities instead of the gap
            probability ``(B, 1, H, W)``.
        tile_size_px: fixed square input side, or None for dynamic height and width.
        shares_windows: ``threshold_m`` may hold K thresholds per window, window-major
            (``(B * K,)``, output ``(B * K, ...)``), so a window is sent once for all its
            thresholds. False in files exported before this existed.
    """

    include_normalization: bool = True
    has_valid_input: bool = True
    fixed_threshold_m: float | None = None
    two_class: bool = False
    tile_size_px: int | None = None
    shares_windows: bool = False

    def __post_init__(self) -> None:
        if self.has_valid_input and not self.include_normalization:
            raise ModelError(
                "a valid-mask input needs the normalization inside the graph",
                hint="Export with include_normalization=True, or without the valid input.",
            )

    @property
    def input_names(self) -> list[str]:
        """Graph input names, in call order."""
        names = [RAW_DSM_INPUT if self.include_normalization else NORMALIZED_DSM_INPUT]
        if self.has_valid_input:
            names.append(VALID_INPUT)
        if self.fixed_threshold_m is None:
            names.append(THRESHOLD_INPUT)
        return names

    @property
    def output_name(self) -> str:
        """The graph's single output."""
        return CLASS_OUTPUT if self.two_class else PROBABILITY_OUTPUT

    def to_json(self) -> str:
        """JSON for the exported file's metadata."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GraphSpec:
        """Inverse of ``to_json``."""
        return cls(**json.loads(text))


class ExportGraph(nn.Module):
    """Normalization, network and sigmoid in one traceable module.

    Args:
        model: registry network, ``model(dsm_norm, threshold_m) -> logits``.
        normalizer: the model's ``Normalizer`` (unused without normalization).
        spec: inputs and outputs to build.

    Shape:
        inputs, in ``spec.input_names`` order: dsm ``(B, 1, H, W)`` float32 (metres, NaN
        allowed, or normalized), valid ``(B, 1, H, W)`` float32 0/1, threshold_m ``(B * K,)``
        float32 metres (K thresholds per window, window-major). Output: ``(B * K, 1, H, W)``
        gap probability in [0, 1], or ``(B, 2, H, W)`` (canopy, gap) probabilities with
        ``two_class`` (fixed threshold, K = 1).
    """

    def __init__(self, model: nn.Module, normalizer: nn.Module, spec: GraphSpec) -> None:
        super().__init__()
        self.model = model
        self.normalizer = normalizer
        self.spec = spec

    def forward(self, *inputs: Tensor) -> Tensor:
        """Probabilities for the inputs named by ``spec.input_names``."""
        named = dict(zip(self.spec.input_names, inputs, strict=True))
        if self.spec.include_normalization:
            dsm = self.normalizer(named[RAW_DSM_INPUT], named.get(VALID_INPUT))
        else:
            dsm = named[NORMALIZED_DSM_INPUT]
        threshold_m = named.get(THRESHOLD_INPUT)
        if threshold_m is None:
            # shaped from the batch so the batch axis stays dynamic in traced graphs
            threshold_m = torch.ones_like(dsm[:, 0, 0, 0]) * self.spec.fixed_threshold_m
        probability = torch.sigmoid(self.model(dsm, threshold_m))
        if self.spec.two_class:
            return torch.cat([1.0 - probability, probability], dim=1)
        return probability


def build_graph(loaded: Any, spec: GraphSpec) -> ExportGraph:
    """An ``ExportGraph`` of a ``LoadedModel`` on the CPU, in eval mode."""
    graph = ExportGraph(loaded.model, loaded.normalizer, spec)
    return graph.to("cpu").eval()


def example_inputs(
    spec: GraphSpec, batch: int, height_px: int, width_px: int, threshold_m: float = 5.0
) -> tuple[Tensor, ...]:
    """Plausible inputs for tracing: flat canopy heights, all cells valid.

    A window-sharing graph is traced with 2 thresholds per window, so nothing in it can
    be specialised to one.
    """
    shape = (batch, 1, height_px, width_px)
    inputs = [torch.full(shape, 20.0 if spec.include_normalization else 0.0)]
    if spec.has_valid_input:
        inputs.append(torch.ones(shape))
    if spec.fixed_threshold_m is None:
        per_window = 2 if spec.shares_windows else 1
        inputs.append(torch.full((batch * per_window,), threshold_m))
    return tuple(inputs)
