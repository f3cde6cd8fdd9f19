"""Check that every shell command in README.md and docs/*.md still matches the code.

Commands come from fenced ``bash``/``sh``/``shell``/``console`` blocks (one command a line,
``\\`` continuations joined, ``#`` comment lines skipped; in ``console`` blocks only lines
starting with ``$ `` are commands, the rest is output) and from inline code spans that start
with ``forestgaps ``, ``make `` or ``python ``.

Static checks (always, a fraction of a second):

* ``forestgaps ...``, ``python -m forestgaps_engine.cli.main ...`` and the part after
  ``-m forestgaps_engine.cli.main`` of ``torchrun``: the subcommand and every ``--flag`` must
  exist in ``forestgaps_engine.cli.main.build_parser()``; fenced commands must also parse
  (argparse, with the placeholders below substituted), which checks positionals and choices.
* ``make X``: ``make -n X`` must succeed in the repository.
* ``python path/script.py --flag``: the script must exist and declare the flags (argparse
  string literals in its source).
* ``torchrun``/``tensorboard``: the program must exist (venv or PATH); torchrun's flags must
  be declared in ``torch/distributed/run.py``.
* ``qgis_process[.bin] run forestgaps:ALG -- NAME=value``: the algorithm id and every
  parameter name must be defined in ``plugin/processing/``.
* ``pip install ".[extra]"``: every extra must exist in pyproject.toml (never run).
* Anything else (``apt-get``, ``docker``...) is listed as documented, not executed.

Running: a fenced block preceded (within three lines) by a line ``<!-- docs-check: run -->`` has
its commands run, in order, with ``bash`` in one temporary working copy per document
(the repository's tracked files, the venv linked and first on ``PATH``; ``make`` commands
run only when the venv is current, so the bootstrap never reinstalls from the copy),
so later commands see the outputs of earlier ones. ``<!-- docs-check: skip REASON -->``
records why a block is not run. Commands in ``NEVER_RUN`` and commands that need CUDA when
no GPU is visible are never run. Placeholders (whole words) are replaced before parsing and
running, see ``PLACEHOLDERS``: ``DSM.tif``/``CHM.tif`` come from ``forestgaps synth`` (128 px),
``MODEL``/``MODEL_DIR``/``PATH`` are a copy of the bundled default model, ``DIR`` an empty
folder, ``tiles/`` a folder with two synthetic DSMs, ``extra.tif`` a third one and
``cloud.laz`` a small classified point cloud.

Usage: ``python scripts/docs_check.py [--static] [FILE.md ...]``; exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# scripts/ is not a package: the static half sits beside this file
sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_commands import (  # noqa: E402
    PLACEHOLDERS,
    REPO,
    VENV_BIN,
    Command,
    Result,
    check_static,
    dangling_markers,
    extract_commands,
    substitute,
)

# Never run even in a run block: why, keyed by the command's first words.
NEVER_RUN = {
    "make test": "runs the whole test suite (minutes); CI runs it",
    "make test-fast": "runs the test suite; CI runs it",
    "make pretrained": "trains the bundled model (~23 min)",
    "make benchmark": "trains every architecture (~10 min)",
    "make venv": "creates the venv",
    "make clean": "deletes build outputs",
    "make format": "rewrites sources",
    "forestgaps serve": "starts a server that runs until stopped; tests/serve run it",
}


def never_run_reason(command: Command, check_cuda: bool = True) -> str | None:
    """Why a command of a run block is still not run (None when it is run).

    ``check_cuda`` asks torch whether a GPU is visible (imports torch: seconds).
    """
    for prefix, reason in NEVER_RUN.items():
        if command.text == prefix or command.text.startswith(prefix + " "):
            return reason
    if check_cuda and "cuda" in command.text.lower():
        import torch

        if not torch.cuda.is_available():
            return "needs CUDA (no GPU visible)"
    return None


def write_cloud(path: Path, size_m: float = 40.0, seed: int = 0) -> None:
    """A small classified LAZ in UTM 12N: flat ground (class 2) under a 20 m canopy with a gap.

    Args:
        path: ``.laz`` target (lazrs-compressed).
        size_m: side of the square footprint, metres.
        seed: random seed of the point positions.
    """
    import laspy
    import numpy as np
    import pyproj

    rng = np.random.default_rng(seed)
    n_points = int(size_m * size_m * 8)
    x = 500_000.0 + rng.uniform(0.0, size_m, n_points)
    y = 4_000_000.0 + rng.uniform(0.0, size_m, n_points)
    is_ground = rng.random(n_points) < 0.3
    in_gap = np.hypot(x - 500_000.0 - size_m / 2, y - 4_000_000.0 - size_m / 2) < size_m / 5
    z = np.where(is_ground | in_gap, 200.0, 220.0 + rng.uniform(-2.0, 2.0, n_points))
    header = laspy.LasHeader(point_format=1, version="1.2")
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.array([500_000.0, 4_000_000.0, 0.0])
    header.add_crs(pyproj.CRS.from_epsg(26912))
    cloud = laspy.LasData(header)
    cloud.x, cloud.y, cloud.z = x, y, z
    cloud.classification = np.where(is_ground | in_gap, 2, 1).astype(np.uint8)
    cloud.write(str(path))


def make_inputs(root: Path) -> dict[str, str]:
    """Small synthetic inputs and a model copy for the placeholders (see module docstring)."""
    forestgaps = str(VENV_BIN / "forestgaps")
    for name, seed in (("site", 1), ("tiles/a", 2), ("tiles/b", 3), ("extra", 4)):
        subprocess.run(
            [forestgaps, "synth", "--out", str(root / name), "--size", "128", "--seed", str(seed)],
            check=True,
            capture_output=True,
        )
    tiles = root / "tiles_dsm"
    tiles.mkdir()
    for name in ("a", "b"):
        shutil.copy(root / "tiles" / name / "dsm.tif", tiles / f"{name}.tif")
    shutil.copytree(REPO / "resources" / "models" / "default", root / "model")
    (root / "dir").mkdir()
    write_cloud(root / "cloud.laz")
    return {
        "DSM.tif": str(root / "site" / "dsm.tif"),
        "CHM.tif": str(root / "site" / "chm.tif"),
        "MODEL_DIR": str(root / "model"),
        "MODEL": str(root / "model"),
        "PATH": str(root / "model"),
        "DIR": str(root / "dir"),
        "tiles/": str(tiles) + "/",
        "extra.tif": str(root / "extra" / "dsm.tif"),
        "cloud.laz": str(root / "cloud.laz"),
    }


def static_inputs() -> dict[str, str]:
    """Placeholder values for static checks (files need not exist to be parsed)."""
    return {
        name: name if name not in {"MODEL", "MODEL_DIR", "PATH"} else "model"
        for name in PLACEHOLDERS
    }


def venv_is_current() -> bool:
    """Whether scripts/bootstrap_venv.sh would install nothing (its stamp matches).

    A working copy links the shared venv: a bootstrap that reinstalled from there would
    point the editable install at the temporary copy, so ``make`` runs need a current venv.
    """
    extras = os.environ.get("FORESTGAPS_EXTRAS", "torch,export,dev,serve,tune")
    sources = (REPO / "pyproject.toml").read_bytes() + (
        REPO / "scripts/bootstrap_venv.sh"
    ).read_bytes()
    want = f"{hashlib.sha256(sources).hexdigest()[:16]}-{extras}"
    stamp = REPO / ".venv" / ".forestgaps-installed"
    return stamp.exists() and stamp.read_text(encoding="utf-8").strip() == want


def run_command(command: Command, cwd: Path, inputs: dict[str, str]) -> Result:
    """Run one command with bash in ``cwd`` (venv first on PATH)."""
    if "make" in command.text.split() and not venv_is_current():
        return Result(command, "FAIL", "the venv is stale: run `make venv` first (not run)")
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", substitute(command.text, inputs)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    duration_s = time.monotonic() - started
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return Result(command, "FAIL", f"exit {done.returncode}: {' | '.join(tail)}")
    return Result(command, "run", f"exit 0 in {duration_s:.1f} s")


def make_working_copy(workdir: Path) -> None:
    """Copy the repository's tracked files into ``workdir`` and link the venv there."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (workdir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, workdir / name)
    (workdir / ".venv").symlink_to(REPO / ".venv")


def documents(paths: list[str]) -> list[Path]:
    """The markdown files to check: README.md and docs/*.md unless given."""
    if paths:
        return [Path(p).resolve() for p in paths]
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def check_documents(paths: list[Path], run: bool) -> list[Result]:
    """Every check on every command of ``paths``; runs run-marked blocks when ``run``."""
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="docs_check_") as temp:
        temp_root = Path(temp)
        inputs = make_inputs(temp_root / "_inputs") if run else static_inputs()
        for path in paths:
            doc = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
            workdir = temp_root / doc.replace("/", "_")
            text = path.read_text(encoding="utf-8")
            results += dangling_markers(text, doc)
            for command in extract_commands(text, doc):
                result = check_static(command, inputs)
                if result.status == "FAIL" or command.mode != "run":
                    if command.mode == "skip" and result.status != "FAIL":
                        result.notes.append(f"not run: {command.reason}")
                    results.append(result)
                    continue
                reason = never_run_reason(command, check_cuda=run)
                if reason or not run:
                    result.notes.append(f"not run: {reason or '--static'}")
                    results.append(result)
                    continue
                if not workdir.exists():
                    make_working_copy(workdir)
                results.append(run_command(command, workdir, inputs))
    return results


def print_table(results: list[Result]) -> None:
    """One line per command, then the counts by status."""
    for result in results:
        where = f"{result.command.doc}:{result.command.line}"
        text = re.sub(r"\s+#.*$", "", result.command.text)  # the doc's comment, not the command
        text = text if len(text) <= 70 else text[:67] + "..."
        notes = f" ({'; '.join(result.notes)})" if result.notes else ""
        sys.stdout.write(
            f"{result.status:<10} {where:<28} {text}\n{'':<11}{result.detail}{notes}\n"
        )
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "run", "documented", "FAIL")}
    sys.stdout.write(
        f"\n{len(results)} commands: {counts['ok']} checked (not run), {counts['run']} run, "
        f"{counts['documented']} documented only, {counts['FAIL']} failed\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Check the docs; exit 1 when any command fails a check or a run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="markdown files (default: README.md docs/*.md)")
    parser.add_argument("--static", action="store_true", help="static checks only, run nothing")
    args = parser.parse_args(argv)
    results = check_documents(documents(args.files), run=not args.static)
    print_table(results)
    return 1 if any(r.status == "FAIL" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
