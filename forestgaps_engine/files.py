"""Atomic outputs: write beside the target, rename on success, delete on failure or cancel."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from forestgaps_engine.errors import DataError


def threshold_label(threshold_m: float) -> str:
    """File-name label of a threshold in every output name: 10 -> ``t10``, 7.5 -> ``t7.5``."""
    return f"t{threshold_m:g}"


def ensure_writable_dir(directory: str | Path) -> Path:
    """Create ``directory`` if needed and check it can be written, else a clear DataError."""
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(
            f"output folder {str(path)!r} cannot be created: {error.strerror}",
            hint="Choose a folder you can write to with --out.",
        ) from error
    if not os.access(path, os.W_OK):
        raise DataError(
            f"output folder {str(path)!r} is not writable",
            hint="Choose a folder you can write to with --out.",
        )
    return path


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; it becomes ``target`` only if the block succeeds.

    The temporary name keeps the target's suffix so format drivers pick the right writer.
    On any exception (including a cancel) the temporary file is removed and the previous
    ``target``, if any, is left untouched.
    """
    target = Path(target)
    ensure_writable_dir(target.parent)
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".partial{target.suffix}", dir=target.parent
    )
    os.close(handle)
    temp_path = Path(temp_name)
    temp_path.unlink()  # writers (GDAL, sqlite) want to create the file themselves
    try:
        yield temp_path
        os.replace(temp_path, target)
    except BaseException:
        for leftover in target.parent.glob(temp_path.name + "*"):
            leftover.unlink(missing_ok=True)
        raise


def write_json_atomic(target: str | Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON, atomically."""
    with atomic_path(target) as temp_path:
        temp_path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", "utf-8")
    return Path(target)
