"""What a prepared folder holds besides shards: manifest, per-tile records, staging.

Layout of ``data.output_dir``::

    manifest.json        config used, shards (samples, sha256), content hash, versions
    normalization.json   height statistics (global, relief, per site) + Normalizer stats
    tiles.jsonl          one JSON line per tile (kept or dropped) with every transformation
    train/ val/ test/    <split>-000000.tar shards
    sites/<name>/        rasters made from point clouds
"""

from __future__ import annotations

import difflib
import hashlib
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from forestgaps_engine.config.root import ForestGapsConfig
from forestgaps_engine.data.shards import ShardInfo
from forestgaps_engine.errors import DataError
from forestgaps_engine.files import ensure_writable_dir
from forestgaps_engine.partials import PARTIAL_MARK, forget, make_partial_dir, remove_path

MANIFEST_NAME = "manifest.json"
NORMALIZATION_NAME = "normalization.json"
TILES_NAME = "tiles.jsonl"
FORMAT = "forestgaps-prepared/1"


def content_sha256(shards: list[ShardInfo], root: Path) -> str:
    """One hash over every shard's relative path and sha256, in split then shard order."""
    digest = hashlib.sha256()
    for shard in shards:
        digest.update(f"{shard.path.relative_to(root).as_posix()} {shard.sha256}\n".encode())
    return digest.hexdigest()


def shard_entries(shards: list[ShardInfo], root: Path) -> list[dict[str, Any]]:
    """Manifest entries of shards, paths relative to the prepared folder."""
    return [
        {"file": s.path.relative_to(root).as_posix(), "n_samples": s.n_samples, "sha256": s.sha256}
        for s in shards
    ]


def build_manifest(
    config: ForestGapsConfig,
    shards: list[ShardInfo],
    root: Path,
    sites: dict[str, Any],
    dropped_tiles: dict[str, int],
) -> dict[str, Any]:
    """The content of manifest.json (no timestamp, so equal inputs give equal manifests).

    Args:
        config: the config used (stored whole).
        shards: every shard written, in split then shard order.
        root: the folder shard paths are made relative to.
        sites: per-site summary (split rule, grid, tile counts).
        dropped_tiles: reason → number of tiles left out.
    """
    from forestgaps_engine.data.split import SPLITS
    from forestgaps_engine.version import __version__

    data = config.data
    return {
        "format": FORMAT,
        "engine_version": __version__,
        "thresholds_m": list(config.gaps.thresholds_m),
        "tile_size_px": data.tile_size_px,
        "overlap_px": data.overlap_px,
        "resolution_m": data.resolution_m,
        "normalization": data.normalization,
        "content_sha256": content_sha256(shards, root),
        "splits": {
            split: {
                "n_samples": sum(s.n_samples for s in shards if s.split == split),
                "shards": shard_entries([s for s in shards if s.split == split], root),
            }
            for split in SPLITS
        },
        "sites": sites,
        "dropped_tiles": dropped_tiles,
        "config": config.model_dump(mode="json"),
    }


def check_replaceable(output_dir: Path) -> None:
    """Refuse to replace a folder that is not empty and not a previous prepared dataset.

    Raises:
        DataError: naming the folder.
    """
    if output_dir.exists() and not output_dir.is_dir():
        raise DataError(
            f"data.output_dir {str(output_dir)!r} is a file",
            hint="Set data.output_dir to a folder (it is created if needed).",
        )
    if output_dir.is_dir() and any(output_dir.iterdir()):
        if not (output_dir / MANIFEST_NAME).is_file():
            raise DataError(
                f"data.output_dir {str(output_dir)!r} is not empty and holds no {MANIFEST_NAME}",
                hint="Point data.output_dir at a new folder or a previous 'forestgaps prepare' output.",
            )


@contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yield an empty folder beside ``target`` that replaces it only if the block succeeds.

    On any exception (a cancel included) the staging folder is deleted and a previous
    ``target`` is left as it was.
    """
    # Named with this PID (partials): a run killed with -9 leaves it, the next one sweeps it.
    ensure_writable_dir(target.parent)
    staging = make_partial_dir(target.parent, target.name)
    try:
        yield staging
    except BaseException:
        remove_path(staging)
        raise
    # Not a .partial name: the previous dataset is never swept as a leftover, even if a
    # kill lands between the two renames.
    previous = staging.with_name(staging.name.removesuffix(PARTIAL_MARK) + ".old")
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    forget(staging)
    shutil.rmtree(previous, ignore_errors=True)


def prepared_file(prepared_dir: str | Path, name: str) -> Path:
    """``<prepared_dir>/<name>``; DataError when it is missing (not a prepared folder)."""
    path = Path(prepared_dir) / name
    if not path.is_file():
        raise DataError(
            f"{path}: not found, so {str(prepared_dir)!r} is not a prepared dataset",
            hint="Run 'forestgaps prepare --config ...' first and pass its data.output_dir.",
        )
    return path


def load_manifest(prepared_dir: str | Path) -> dict[str, Any]:
    """The manifest of a prepared folder.

    Raises:
        DataError: the folder holds no manifest.
    """
    return json.loads(prepared_file(prepared_dir, MANIFEST_NAME).read_text("utf-8"))


def site_cell_sizes_m(manifest: dict[str, Any]) -> dict[str, float]:
    """Return each site's cell size in metres from the manifest's site grids.

    Sites without a grid are left out.
    """
    return {
        name: float(site["grid"]["resolution_m"][0])
        for name, site in manifest.get("sites", {}).items()
        if (site.get("grid") or {}).get("resolution_m")
    }


def prepared_cell_size_m(manifest: dict[str, Any]) -> float | None:
    """The tiles' cell size as a prepared dataset's manifest records it, None if it does not.

    The prepared resolution, else the configured ``data.resolution_m``, else the cell size
    most sites have: sites kept on their own grids (``synth.keep_site_resolutions``) have
    several, and a model trained on them has seen most of its data at that one (the first
    seen on a tie).
    """
    recorded = manifest.get("resolution_m")
    recorded = recorded or manifest.get("config", {}).get("data", {}).get("resolution_m")
    if recorded:
        return float(recorded)
    sizes = list(site_cell_sizes_m(manifest).values())
    return max(dict.fromkeys(sizes), key=sizes.count) if sizes else None


def split_shards(prepared_dir: str | Path, split: str) -> tuple[list[Path], list[int]]:
    """Shard paths and their sample counts for one split, from the manifest."""
    manifest = load_manifest(prepared_dir)
    entries = manifest["splits"].get(split, {}).get("shards", [])
    return [Path(prepared_dir) / e["file"] for e in entries], [e["n_samples"] for e in entries]


def tile_record(prepared_dir: str | Path, tile_id: str) -> dict[str, Any]:
    """The record of one tile: sources, reprojection, resampling, labelling, split, shard.

    Raises:
        DataError: no tiles.jsonl, or no tile with that id (close ids are suggested).
    """
    path = prepared_file(prepared_dir, TILES_NAME)
    known: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["tile_id"] == tile_id:
                return record
            known.append(record["tile_id"])
    close = difflib.get_close_matches(tile_id, known, n=3)
    raise DataError(
        f"{path}: no tile {tile_id!r}",
        hint=f"Did you mean {', '.join(close)}?"
        if close
        else "Tile ids look like <site>_r<row>_c<col>.",
    )
