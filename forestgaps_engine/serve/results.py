"""Downloadable results: files kept for a while under an opaque random job id.

Clients see ``/results/{job_id}/{name}`` where ``job_id`` is 128 random bits and ``name``
is one of the file names the job published; a lookup never builds a path from what the
client sent, so no request can reach another file of the server.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import time
from pathlib import Path

from forestgaps_engine.files import read_json_mapping, write_json_atomic
from forestgaps_engine.partials import disk_bytes

logger = logging.getLogger(__name__)

MEDIA_TYPES = {
    ".tif": "image/tiff",
    ".gpkg": "application/geopackage+sqlite3",
    ".json": "application/json",
    ".geojson": "application/geo+json",
}


MANIFEST_FILE = "manifest.json"
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{22}")


class ResultStore:
    """Job folders under ``root``, each published with a manifest (names, expiry).

    The state lives on disk, so several worker processes given the same ``root`` serve
    each other's results; expiry uses wall-clock time for the same reason.

    Args:
        root: private folder the job folders live in.
        ttl_s: how long a job's files stay downloadable.
        max_bytes: disk the finished jobs may take together; past it the oldest go first
            (the newest is always kept).
    """

    def __init__(self, root: Path, ttl_s: float, max_bytes: int) -> None:
        self.root = root
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes

    def new_folder(self) -> tuple[str, Path]:
        """A fresh job id (128 random bits) and its empty folder."""
        job_id = secrets.token_urlsafe(16)
        folder = self.root / job_id
        folder.mkdir(mode=0o700)
        return job_id, folder

    def publish(
        self,
        job_id: str,
        folder: Path,
        files: dict[str, Path],
        geojson: dict[str, tuple[str, bool]] | None = None,
    ) -> None:
        """Make ``files`` (inside ``folder``) downloadable until the expiry.

        Args:
            job_id: the job's id.
            folder: its folder.
            files: published name -> file inside ``folder``.
            geojson: GeoJSON names made on first download -> (published GeoPackage name,
                whether in WGS 84).
        """
        now = time.time()
        manifest = {
            "published_at_s": now,
            "expires_at_s": now + self.ttl_s,
            "files": {name: path.relative_to(folder).as_posix() for name, path in files.items()},
            "geojson": {name: list(source) for name, source in (geojson or {}).items()},
        }
        write_json_atomic(folder / MANIFEST_FILE, manifest)
        self.evict_over_budget(keep=job_id)

    def evict_over_budget(self, keep: str = "") -> None:
        """Delete the oldest finished jobs until they fit ``max_bytes``.

        Running jobs (no manifest yet) are neither counted nor touched: their size is
        bounded by the request limits, and they publish only once complete.

        Args:
            keep: a job never deleted here (the one just published).
        """
        finished = []
        for folder in self.root.iterdir():
            manifest = self._manifest(folder)
            if manifest is not None:
                published_s = manifest.get("published_at_s", manifest["expires_at_s"])
                finished.append((published_s, folder, disk_bytes(folder)))
        total_bytes = sum(size for _published, _folder, size in finished)
        evicted = []
        for _published, folder, size_bytes in sorted(finished, key=lambda item: item[0]):
            if total_bytes <= self.max_bytes:
                break
            if folder.name == keep:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            total_bytes -= size_bytes
            evicted.append(size_bytes)
        if evicted:
            logger.info(
                "removed the %d oldest finished result(s) (%.1f MiB) to keep results within "
                "serve.max_results_mb (%.1f MiB)",
                len(evicted),
                sum(evicted) / 2**20,
                self.max_bytes / 2**20,
            )

    def _manifest(self, folder: Path) -> dict | None:
        return read_json_mapping(folder / MANIFEST_FILE) or None

    def _live_manifest(self, job_id: str) -> dict | None:
        """The manifest of a published, unexpired job (None for an id of any other form)."""
        if not _JOB_ID.fullmatch(job_id):
            return None
        manifest = self._manifest(self.root / job_id)
        return manifest if manifest and manifest["expires_at_s"] > time.time() else None

    def lookup(self, job_id: str, name: str) -> Path | None:
        """The file published as ``name`` by ``job_id``, or None (unknown or expired)."""
        self.purge_expired()
        relative = (self._live_manifest(job_id) or {"files": {}})["files"].get(name)
        path = self.root / job_id / relative if relative else None
        return path if path is not None and path.is_file() else None

    def geojson_source(self, job_id: str, name: str) -> tuple[Path, Path, bool] | None:
        """(GeoPackage, GeoJSON to make, in WGS 84) for a GeoJSON ``name`` of ``job_id``."""
        entry = (self._live_manifest(job_id) or {}).get("geojson", {}).get(name)
        source = self.lookup(job_id, entry[0]) if entry else None
        if source is None:
            return None
        return source, source.with_name(name), bool(entry[1])

    def purge_expired(self) -> None:
        """Delete expired jobs (folders without a manifest are still running)."""
        now = time.time()
        expired = []
        for folder in self.root.iterdir():
            manifest = self._manifest(folder)
            if manifest is not None and manifest["expires_at_s"] <= now:
                shutil.rmtree(folder, ignore_errors=True)
                expired.append(folder)
        if expired:
            logger.debug("purged %d expired result(s)", len(expired))

    def clear(self) -> None:
        """Delete every job (at shutdown)."""
        for folder in self.root.iterdir():
            shutil.rmtree(folder, ignore_errors=True)
