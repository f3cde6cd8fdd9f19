"""Where a real site comes from: its folder's ``SOURCE.txt`` (repository, licence, origin).

The real samples carry licences that differ (GPL-3, MIT, BSD, Etalab 2.0), so every site
built from them records its source folder and the fields of its ``SOURCE.txt`` into the
prepared manifest and, through it, into the model card of a model trained on them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from forestgaps_engine.errors import DataError

SOURCE_FILE = "SOURCE.txt"
# Keys of SOURCE.txt copied as they are; "files" is a list and read separately.
SOURCE_KEYS = ("repo", "commit", "license", "note")


def read_source_file(folder: str | Path) -> dict[str, Any]:
    """Parse ``<folder>/SOURCE.txt`` (``key: value`` lines, ``files:`` then ``- item`` lines).

    Args:
        folder: a sample folder of the real-data corpus.

    Returns:
        ``folder`` (its name), ``source_file`` (path), each of ``repo``, ``commit``,
        ``license``, ``note`` that the file gives, and ``files`` (list of str).

    Raises:
        DataError: the folder has no ``SOURCE.txt``.
    """
    path = Path(folder) / SOURCE_FILE
    if not path.is_file():
        raise DataError(
            f"{path}: not found; source_dir {str(folder)!r} must hold the sample's {SOURCE_FILE}",
            hint=f"Point source_dir at the sample's folder (the one with {SOURCE_FILE}), "
            "or leave source_dir out.",
        )
    record: dict[str, Any] = {"folder": Path(folder).name, "source_file": str(path), "files": []}
    in_files = False
    for raw in path.read_text("utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line:
            continue
        if in_files and line.startswith("- "):
            record["files"].append(line[2:].strip())
            continue
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        in_files = key == "files"
        if sep and key in SOURCE_KEYS:
            record[key] = value.strip()
    return record


def sources_of_manifest(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The distinct provenance records of a prepared manifest's sites, in site order.

    Args:
        manifest: the content of a prepared folder's ``manifest.json``.

    Returns:
        One ``{"sites": [...], "folder", "repo", "license", ...}`` per source folder;
        empty when no site names a source (synthetic data).
    """
    by_folder: dict[str, dict[str, Any]] = {}
    for site, summary in (manifest.get("sites") or {}).items():
        provenance = (summary or {}).get("provenance")
        if not provenance:
            continue
        entry = by_folder.setdefault(
            provenance["folder"],
            {key: value for key, value in provenance.items() if key != "files"} | {"sites": []},
        )
        entry["sites"].append(site)
    return list(by_folder.values())
