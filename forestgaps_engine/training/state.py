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
