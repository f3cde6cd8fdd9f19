"""Checkpoint files and RNG states: plain tensors and dicts only, loaded with weights_only."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from forestgaps_engine.errors import TrainingError
from forestgaps_engine.files import atomic_path


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (every CUDA device too)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng_state() -> dict[str, Any]:
    """Python, numpy, torch CPU and CUDA generator states as tensors/ints/tuples."""
    version, internal, gauss = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": version, "internal": torch.tensor(internal), "gauss": gauss},
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    python = state["python"]
    random.setstate(
        (python["version"], tuple(int(v) for v in python["internal"].tolist()), python["gauss"])
    )
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["kind"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached"],
        )
    )
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` with torch.save, atomically (the old file survives a crash)."""
    with atomic_path(path) as temp_path:
        torch.save(state, temp_path)
    return Path(path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint on CPU with ``weights_only=True`` (no pickled code runs).

    Raises:
        TrainingError: naming the file when it is missing or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise TrainingError(
            f"checkpoint {str(path)!r} does not exist",
            hint="Start without --resume, or point training.output_dir at the earlier run.",
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means the same to the user
        raise TrainingError(
            f"checkpoint {str(path)!r} cannot be read ({type(error).__name__}: {error})",
            hint="The file is damaged or not a ForestGaps checkpoint; delete it and retrain.",
        ) from error


def run_record(module: torch.nn.Module, precision_name: str) -> dict[str, Any]:
    """What a checkpoint records besides the state: the network built and its precision.

    Args:
        module: the registry model being trained (``name`` and ``config`` attributes).
        precision_name: ``fp32``, ``bf16`` or ``fp16`` (``Precision.name``).
    """
    config = getattr(module, "config", None)
    params = config.model_dump(mode="json") if hasattr(config, "model_dump") else dict(config or {})
    return {
        "precision": precision_name,
        "architecture": str(getattr(module, "name", type(module).__name__)),
        "params": params,
    }


def check_resumable(state: dict[str, Any], module: torch.nn.Module, path: str | Path) -> None:
    """Refuse a checkpoint written for another network, naming what changed.

    Args:
        state: the loaded checkpoint.
        module: the network the config builds now.
        path: the checkpoint file, for the message.

    Raises:
        TrainingError: the architecture or ``model.params`` differ from the run that wrote
            ``path``, or (checkpoints without that record) the weights' shapes differ.
    """
    hint = (
        "Set model.name and model.params back to the earlier run's values to resume it, "
        "or start without --resume (the checkpoint is then replaced)."
    )
    current = run_record(module, "")
    if "architecture" in state and "params" in state:
        if state["architecture"] != current["architecture"]:
            raise TrainingError(
                f"checkpoint {str(path)!r} was written by model {state['architecture']!r}; "
                f"the config now builds {current['architecture']!r}",
                hint=hint,
            )
        before, now = dict(state["params"]), current["params"]
        changed = [
            f"{key} {before.get(key, '(default)')!r} -> {now.get(key, '(default)')!r}"
            for key in sorted(set(before) | set(now))
            if before.get(key) != now.get(key)
        ]
        if changed:
            raise TrainingError(
                f"checkpoint {str(path)!r} was written with other model.params "
                f"({', '.join(changed)})",
                hint=hint,
            )
    expected = module.state_dict()
    weights = state.get("model", {})
    differing = [
        name
        for name in sorted(set(expected) | set(weights))
        if name not in expected
        or name not in weights
        or tuple(expected[name].shape) != tuple(weights[name].shape)
    ]
    if differing:
        first = differing[0]
        shapes = (
            f"{tuple(weights[first].shape) if first in weights else 'absent'} in the "
            f"checkpoint, {tuple(expected[first].shape) if first in expected else 'absent'} now"
        )
        raise TrainingError(
            f"checkpoint {str(path)!r} holds another network: {len(differing)} of "
            f"{len(expected)} weights differ (first {first}: {shapes}); model.name or "
            "model.params changed since it was written",
            hint=hint,
        )
