"""Temporary ``.partial`` files and folders: named after their owner, tracked, swept.

Every temporary output is named ``.{stem}.{host}.{pid}-{token}.partial{suffix}`` beside its
target: the host and PID say which process owns it, so a later run can tell the leftovers of
a killed run (owner gone) from a writer still at work. A PID means nothing on another
machine, so on a folder shared between machines (a cluster's file system) another host's
names are treated like names without an owner: removed only once old. Live ones are kept in a registry so
that a signal handler, or the CLI on its way out, can remove whatever is still on disk.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

logger = logging.getLogger(__name__)

PARTIAL_MARK = ".partial"
# .{stem}.{host}.{pid}-{token}.partial{anything}: a file, its sidecars (-journal, .aux.xml),
# a folder.
_OWNED_NAME = re.compile(
    r"^\.(?P<stem>.+)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)-(?P<token>[A-Za-z0-9_]+)\.partial"
)
# Names without an owner's PID (older engines wrote them): no owner to ask, so only stale
# ones (UNOWNED_MAX_AGE_S) go.
_UNOWNED_NAMES = (
    re.compile(r"^\..+\.[a-z0-9_]{8}\.partial"),  # mkstemp of atomic_path
    re.compile(r"^\..+\.partial-[0-9a-f]{8}$"),  # prepare's staging folder
    re.compile(r"^\.forestgaps-(cut-|gaps-)?[a-z0-9_]{8}$"),  # predict's work folders
)
UNOWNED_MAX_AGE_S = 24 * 3600.0
# A file is never older than its writer; the slack covers coarse file-system clocks.
_CLOCK_SLACK_S = 2.0

_live_lock = threading.Lock()
_live_paths: set[Path] = set()
_swept_folders: set[Path] = set()


def host_label() -> str:
    """This machine's name as it appears in temporary names (letters, digits, hyphens)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:63] or "host"


def register(path: Path) -> None:
    """Track ``path`` (file or folder) until ``forget``; ``remove_live`` deletes it."""
    with _live_lock:
        _live_paths.add(Path(path))


def forget(path: Path) -> None:
    """Stop tracking ``path`` (it was renamed into place or removed)."""
    with _live_lock:
        _live_paths.discard(Path(path))


def remove_path(path: Path) -> None:
    """Delete a file (with its ``name*`` sidecars) or a folder tree, and forget it."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        for leftover in path.parent.glob(glob.escape(path.name) + "*"):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
    forget(path)


def remove_live() -> list[Path]:
    """Delete every temporary path still registered (on a signal or at exit).

    Returns:
        The paths that were registered.
    """
    with _live_lock:
        paths = sorted(_live_paths, key=lambda p: len(str(p)), reverse=True)
        _live_paths.clear()
    for path in paths:
        remove_path(path)
    return paths


def _reserve(parent: Path, stem: str, suffix: str, create: Callable[[Path], None]) -> Path:
    """A new registered temporary path in ``parent``, created by ``create``.

    The name is registered before it exists on disk: a signal that lands between the
    creation and the registration would otherwise leave a file no cleanup knows of (the
    signal tests send theirs the moment the file appears).
    """
    while True:
        name = f".{stem}.{host_label()}.{os.getpid()}-{secrets.token_hex(4)}{PARTIAL_MARK}{suffix}"
        path = Path(parent) / name
        register(path)
        try:
            create(path)
        except FileExistsError:
            forget(path)
            continue
        except BaseException:
            forget(path)
            raise
        return path


def make_partial_file(parent: Path, stem: str, suffix: str = "") -> Path:
    """Reserve a registered temporary file name in ``parent`` (the file is not created).

    Writers (GDAL, SQLite) want to create their file themselves, so the name is reserved
    by creating the file exclusively and removing it again.
    """
    path = _reserve(parent, stem, suffix, lambda path: path.touch(0o600, exist_ok=False))
    path.unlink()
    return path


def make_partial_dir(parent: Path, stem: str) -> Path:
    """Create a registered temporary folder in ``parent``."""
    return _reserve(parent, stem, "", lambda path: path.mkdir(mode=0o700))


@contextmanager
def partial_directory(parent: Path, stem: str) -> Iterator[Path]:
    """A registered temporary folder in ``parent``, removed when the block ends."""
    path = make_partial_dir(parent, stem)
    try:
        yield path
    finally:
        remove_path(path)


def _owner_alive(pid: int, mtime_s: float) -> bool:
    """True when process ``pid`` exists and is old enough to have written the file."""
    import psutil

    try:
        process = psutil.Process(pid)
        return process.create_time() <= mtime_s + _CLOCK_SLACK_S
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True  # someone else's process: leave its files alone


def stale_partials(folder: Path, now_s: float | None = None) -> list[Path]:
    """The temporary files and folders in ``folder`` whose writer is gone.

    Owned names of this host: the PID is dead, or was reused by a process younger than
    the file. Names of another host, or without a PID (older versions): last written more
    than ``UNOWNED_MAX_AGE_S`` ago.
    """
    now_s = time.time() if now_s is None else now_s
    this_host = host_label()
    stale = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith("."):
            continue
        try:
            mtime_s = entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        owned = _OWNED_NAME.match(entry.name)
        if owned and owned["host"] == this_host:
            pid = int(owned["pid"])
            if pid != os.getpid() and not _owner_alive(pid, mtime_s):
                stale.append(Path(entry.path))
        elif owned or any(p.match(entry.name) for p in _UNOWNED_NAMES):
            if now_s - mtime_s > UNOWNED_MAX_AGE_S:
                stale.append(Path(entry.path))
    return sorted(stale)


def sweep_stale_partials(folder: str | Path) -> list[Path]:
    """Remove what ``stale_partials`` finds, once per folder and process; one log line.

    Returns:
        The removed paths (empty on a second call for the same folder).
    """
    folder = Path(folder).resolve()
    with _live_lock:
        if folder in _swept_folders:
            return []
        _swept_folders.add(folder)
    stale = stale_partials(folder)
    if not stale:
        return []
    size_bytes = sum(disk_bytes(path) for path in stale)
    for path in stale:
        remove_path(path)
    logger.info(
        "removed %d leftover temporary file(s) of interrupted runs from %s (%.1f MB): %s",
        len(stale),
        folder,
        size_bytes / 1e6,
        ", ".join(path.name for path in stale),
    )
    return stale


def disk_bytes(path: Path) -> int:
    """Bytes of a file, or of the files under a folder (files removed meanwhile count 0)."""
    total_bytes = 0
    for file in path.rglob("*") if path.is_dir() else [path]:
        with suppress(OSError):
            total_bytes += file.stat().st_size if file.is_file() else 0
    return total_bytes
