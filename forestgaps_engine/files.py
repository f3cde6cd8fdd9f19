"""Atomic outputs: write beside the target, verify, rename on success, delete on failure.

Also the checks every writer shares: an output never replaces an input, distinct
thresholds never share an output name, and a full disk is reported as such.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from forestgaps_engine import partials
from forestgaps_engine.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
MIN_FREE_BYTES = 1024 * 1024
_DISK_FULL_WORDS = ("no space left", "disk is full", "disk quota", "file too large")


class OutputWriteError(DataError):
    """An output could not be written whole; the previous file, if any, is untouched."""

    default_hint = "Check the output folder (space, permissions) or choose another --out."


class DiskFullError(OutputWriteError):
    """The output folder's file system ran out of space."""


def threshold_label(threshold_m: float) -> str:
    """File-name label of a threshold in every output name: 10 -> ``t10``, 7.5 -> ``t7.5``."""
    return f"t{threshold_m:g}"


def threshold_labels(thresholds_m: Sequence[float]) -> list[str]:
    """``threshold_label`` of each threshold, refusing two thresholds with one label.

    Raises:
        ConfigError: two thresholds are equal at the names' precision (5 and 5.0000001),
            so one's files would replace the other's.
    """
    labels: dict[str, float] = {}
    for threshold_m in thresholds_m:
        label = threshold_label(threshold_m)
        if label in labels:
            raise ConfigError(
                f"thresholds {labels[label]!r} m and {threshold_m!r} m would both write "
                f"files named *_{label}*",
                hint="Pass thresholds that differ in their first 6 significant digits, "
                "or only one of the two.",
            )
        labels[label] = threshold_m
    return list(labels)


def ensure_writable_dir(directory: str | Path) -> Path:
    """Create ``directory`` if needed and check it can be written, else a clear DataError.

    The first time a process writes into a folder, temporary files left there by
    interrupted runs are removed (``partials.sweep_stale_partials``, one log line).
    """
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
    partials.sweep_stale_partials(path)
    return path


@contextmanager
def all_or_nothing(out_dir: str | Path) -> Iterator[tuple[Path, list[Path]]]:
    """The output folder (created when missing) and a list for the files written into it.

    On failure or cancel the listed files are removed, then the folder when this call
    created it and nothing else is left in it: a run leaves all its outputs or none.
    """
    is_new_dir = not Path(out_dir).exists()
    out = ensure_writable_dir(out_dir)
    written: list[Path] = []
    try:
        yield out, written
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if is_new_dir and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise


def _same_file(first: Path, second: Path) -> bool:
    """True when both name one file: same resolved path, or samefile (hard links)."""
    if first.resolve() == second.resolve():
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def refuse_overwriting_inputs(
    inputs: Iterable[str | Path | None],
    outputs: Iterable[str | Path | None],
    hint: str = "Choose another --out folder, or move the input out of it.",
) -> None:
    """Refuse a run that would write an output onto one of its inputs.

    Paths are compared resolved (symlinks followed) and with ``samefile`` (hard links).
    None entries are skipped.

    Raises:
        DataError: an output path names an input file.
    """
    input_paths = [Path(p) for p in inputs if p is not None]
    for output in (Path(p) for p in outputs if p is not None):
        for source in input_paths:
            if _same_file(output, source):
                raise DataError(
                    f"{output}: this output would overwrite the input {source}", hint=hint
                )


def is_disk_full(error: BaseException) -> bool:
    """True when ``error`` (or its cause) says the disk or quota is full."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _DISK_FULL_ERRNOS:
            return True
        if any(word in str(current).lower() for word in _DISK_FULL_WORDS):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_short_of_space(target: Path) -> bool:
    """True when ``target``'s folder has (nearly) no free space left.

    GDAL does not always name the cause of a failed write; a full folder after it is.
    """
    try:
        return shutil.disk_usage(target.parent).free < MIN_FREE_BYTES
    except OSError:
        return False


def _size_text(n_bytes: float) -> str:
    """``12.3 MB`` or, under 0.1 MB, ``45 kB``."""
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 1e5 else f"{n_bytes / 1e3:.0f} kB"


def disk_full_error(target: Path, needed_bytes: int | None = None) -> DiskFullError:
    """The one-line report of a full disk under ``target``'s folder.

    A work folder of the run (a ``.partial`` one) is reported as the output folder
    holding it: that is the folder the user chose.
    """
    folder = target.parent
    while folder.name.startswith(".") and partials.PARTIAL_MARK in folder.name:
        folder = folder.parent
    try:
        free = _size_text(shutil.disk_usage(folder).free)
    except OSError:
        free = "unknown"
    needed = f", up to {_size_text(needed_bytes)} needed" if needed_bytes else ""
    return DiskFullError(
        f"{folder}: no space left to write {target.name} ({free} free{needed}); "
        "the previous file, if any, is untouched",
        hint=f"Free space in {folder} or choose another --out folder.",
    )


@contextmanager
def atomic_path(
    target: str | Path,
    verify: Callable[[Path], None] | None = None,
    needed_bytes: int | None = None,
) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; it becomes ``target`` only if the block succeeds.

    The temporary name keeps the target's suffix so format drivers pick the right writer,
    and carries this process's PID (see ``partials``). ``verify(temp_path)`` runs before
    the rename. On any exception (a cancel or a signal included) the temporary file is
    removed and the previous ``target``, if any, is left untouched; a full disk is raised
    as ``DiskFullError``.

    Args:
        target: final path.
        verify: raises when the finished temporary file is not whole.
        needed_bytes: how much the file may take, for the disk-full message.
    """
    target = Path(target)
    ensure_writable_dir(target.parent)
    temp_path = partials.make_partial_file(target.parent, target.stem, target.suffix)
    try:
        yield temp_path
        if verify is not None:
            verify(temp_path)
        os.replace(temp_path, target)
        partials.remove_path(temp_path)  # sidecars GDAL may have left (.aux.xml), and forget
    except BaseException as error:
        # Measured before the partial file is removed: it holds what the disk had left.
        is_full = (
            isinstance(error, Exception)
            and not isinstance(error, DiskFullError)
            and (
                is_disk_full(error)
                or (isinstance(error, OutputWriteError) and _is_short_of_space(target))
            )
        )
        partials.remove_path(temp_path)
        if is_full:
            raise disk_full_error(target, needed_bytes) from error
        # Other errors pass unchanged: they may come from reading an input in the block.
        raise


def write_text_atomic(target: str | Path, text: str) -> Path:
    """Write ``text`` as UTF-8, atomically."""
    with atomic_path(target) as temp_path:
        temp_path.write_text(text, "utf-8")
    return Path(target)


def write_json_atomic(target: str | Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON, atomically."""
    return write_text_atomic(target, json.dumps(payload, indent=2, sort_keys=False) + "\n")


def cache_dir() -> Path:
    """``$FORESTGAPS_CACHE_DIR``, else ``$XDG_CACHE_HOME/forestgaps`` or ``~/.cache/forestgaps``."""
    if os.environ.get("FORESTGAPS_CACHE_DIR"):
        return Path(os.environ["FORESTGAPS_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "forestgaps"


def read_json_mapping(path: Path) -> dict[str, Any]:
    """The mapping a JSON file holds (a cache, a manifest); empty when missing or unreadable."""
    try:
        entries = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def store_in_json_cache(path: Path, key: str, entry: Any) -> None:
    """Add ``entry`` under ``key`` to the JSON cache ``path``, atomically.

    A cache that cannot be written (read-only home) only costs the next run a new
    measurement, so it is a warning, never an error.
    """
    entries = read_json_mapping(path)
    entries[key] = entry
    try:
        ensure_writable_dir(path.parent)
        write_json_atomic(path, entries)
    except (DataError, OSError, ValueError) as error:
        logger.warning("cannot write the cache %s (%s); the next run measures again", path, error)
