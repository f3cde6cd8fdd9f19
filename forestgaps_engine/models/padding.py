"""Pad to a stride multiple and crop back, with shape arithmetic that stays dynamic in ONNX."""

from __future__ import annotations

import torch.nn.functional as F  # noqa: N812 - the conventional alias
from torch import Tensor


def pad_to_multiple(x: Tensor, multiple: int) -> Tensor:
    """Replicate-pad the bottom and right edges so H and W become multiples of ``multiple``.

    Replicate rather than reflect: reflection fails when the pad exceeds the input size
    (e.g. a 5 px strip padded to 32), replication never does.

    Shape:
        x: ``(B, C, H, W)``. Returns ``(B, C, ceil(H / m) * m, ceil(W / m) * m)``.
    """
    if multiple <= 1:
        return x
    height, width = x.shape[-2], x.shape[-1]
    pad_h = (multiple - height % multiple) % multiple
    pad_w = (multiple - width % multiple) % multiple
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
