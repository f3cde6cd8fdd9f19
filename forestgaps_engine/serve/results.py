"""Downloadable results: files kept for a while under an opaque random job id.

Clients see ``/results/{job_id}/{name}`` where ``job_id`` is 128 random bits and ``name``
is one of the file names the job published; a lookup never builds a path from what the
client sent, so no request can reach another file of the server.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

MEDIA_TYPES = {
    ".tif": "image/tiff",
    ".gpkg": "application/geopackage+sqlite3",
    ".json": "application/json",
}


@dataclass(frozen=True)
class StoredJob:
    """Files of one job and when they expire.

    Attributes:
        folder: private folder holding the files.
        files: published name -> file.
        expires_at_s: ``time.monotonic()`` deadline.
    """

    folder: Path
    files: dict[str, Path]
    expires_at_s: float


class ResultStore:
    """Thread-safe map of job id -> published files, purged after ``ttl_s``.

    Args:
        root: private folder the job folders live in.
        ttl_s: how long a job's files stay downloadable.
    """

    def __init__(self, root: Path, ttl_s: float) -> None:
        self.root = root
        self.ttl_s = ttl_s
        self._jobs: dict[str, StoredJob] = {}
        self._lock = threading.Lock()

    def new_folder(self) -> tuple[str, Path]:
        """A fresh job id and its (empty, private) folder."""
        job_id = secrets.token_urlsafe(16)
        folder = self.root / job_id
        folder.mkdir(mode=0o700)
        return job_id, folder

    def publish(self, job_id: str, folder: Path, files: dict[str, Path]) -> None:
        """Make ``files`` (inside ``folder``) downloadable until the expiry."""
        with self._lock:
            self._jobs[job_id] = StoredJob(folder, dict(files), time.monotonic() + self.ttl_s)

    def lookup(self, job_id: str, name: str) -> Path | None:
        """The file published as ``name`` by ``job_id``, or None (unknown or expired)."""
        self.purge_expired()
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            return None
        path = job.files.get(name)
        return path if path is not None and path.is_file() else None

    def purge_expired(self) -> int:
        """Delete expired jobs; returns how many."""
        now = time.monotonic()
        with self._lock:
            expired = [job_id for job_id, job in self._jobs.items() if job.expires_at_s <= now]
            folders = [self._jobs.pop(job_id).folder for job_id in expired]
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        if expired:
            logger.debug("purged %d expired result(s)", len(expired))
        return len(expired)

    def clear(self) -> None:
        """Delete every job (at shutdown)."""
        with self._lock:
            folders = [job.folder for job in self._jobs.values()]
            self._jobs.clear()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
