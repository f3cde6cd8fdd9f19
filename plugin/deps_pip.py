"""Install into one folder only what QGIS's Python lacks: run by that Python, not in QGIS.

Usage (built by ``deps_installer.build_pip_command``)::

    python deps_pip.py --target T --constraints C [--extra-index-url URL] -- REQUIREMENT...

``pip install --target`` alone ignores what the Python already has and copies every
dependency (numpy included) into the folder. So:

1. ``pip install --dry-run --report`` resolves the requirements against this Python's own
   environment, pinned by the constraints: what QGIS ships (numpy, GDAL, ...) is satisfied
   there and left out of the plan;
2. a plan that would replace a distribution this Python has is refused before anything is
   installed: the target comes after QGIS's packages on ``sys.path``, so the copy would
   never load (exit code 2, one line saying which package to update);
3. ``pip install --target T --no-deps`` installs exactly the planned versions.

pip stages its files under ``T/.forestgaps-tmp`` (TMPDIR points there), so it builds and
moves within the target's file system; that folder is removed at the end, through
:func:`remove_inside`, which refuses any path that resolves outside ``T``.

This file runs in a bare QGIS Python: it imports the standard library and, from the
bundled engine beside it, only ``forestgaps_engine.errors``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TextIO

if not __package__:  # run as a script: the bundled engine is one folder up
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from forestgaps_engine.errors import ForestGapsError  # noqa: E402

WORK_DIR_NAME = ".forestgaps-tmp"
EXIT_REFUSED = 2
PIP_OPTIONS = ["--no-input", "--disable-pip-version-check", "--progress-bar", "off"]


class OutsideTargetError(ForestGapsError, ValueError):
    """A path to delete resolves outside the folder the installer owns: refused, never done.

    Only a bug (or a tampered install record) gets here, so the hint says to report it.
    """

    default_hint = "Nothing was deleted; please report this as a ForestGaps bug."


def is_inside(root: Path, path: Path) -> bool:
    """True when ``path`` (its links resolved, but not its own last part) is under ``root``.

    The last part is kept: removing a link removes the link, not what it points at.
    """
    root = root.resolve()
    parent = path.parent.resolve()
    candidate = parent / path.name
    if path.name in ("", ".", ".."):
        candidate = path.resolve()
    return candidate != root and root in candidate.parents


def remove_inside(root: Path, path: Path) -> None:
    """Delete ``path`` (a file, a link, or a folder tree) when it lies inside ``root``.

    Raises:
        OutsideTargetError: ``path`` is ``root`` itself or resolves outside it
            (``root/../x``, a link to a folder elsewhere, an absolute path).
    """
    if not is_inside(root, path):
        raise OutsideTargetError(f"{path} is outside {root}; refusing to delete it")
    target = path.parent.resolve() / path.name
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)


def normalized(name: str) -> str:
    """PEP 503 name: ``typing_extensions`` and ``Typing-Extensions`` compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_version(name: str) -> tuple[str, str] | None:
    """(version, location) of ``name`` in this Python's environment, or None."""
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    return distribution.version, str(distribution.locate_file(""))


def say(text: str, stream: TextIO | None = None) -> None:
    """One line to the dialog's log (stdout), or to stderr for the refusal."""
    stream = stream or sys.stdout
    stream.write(text + "\n")
    stream.flush()


def pip(arguments: list[str], env: dict[str, str]) -> int:
    """Run ``python -m pip ARGUMENTS`` with this Python, its output streamed to ours."""
    say("$ pip " + " ".join(arguments))
    return subprocess.run(
        [sys.executable, "-m", "pip", *arguments], env=env, check=False
    ).returncode


def plan(
    requirements: list[str], constraints: Path, index: list[str], work: Path, env: dict[str, str]
) -> list[tuple[str, str]] | int:
    """What pip would install into this Python: ``[(name, version), ...]``, or pip's code."""
    report = work / "plan.json"
    code = pip(
        ["install", "--dry-run", "--quiet", "--report", str(report), "-c", str(constraints),
         *PIP_OPTIONS, *index, *requirements],
        env,
    )  # fmt: skip
    if code != 0:
        return code
    items = json.loads(report.read_text(encoding="utf-8")).get("install", [])
    return [(item["metadata"]["name"], item["metadata"]["version"]) for item in items]


def conflicts(planned: list[tuple[str, str]]) -> list[str]:
    """One phrase per planned distribution this Python already has at another version."""
    found = []
    for name, version in planned:
        have = installed_version(name)
        if have is not None and have[0] != version:
            found.append(f"{name} {have[0]} (in {have[1]}; {version} is needed)")
    return found


def main(argv: list[str] | None = None) -> int:
    """Resolve, check, install; see the module docstring. Returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, type=Path)
    parser.add_argument("--constraints", required=True, type=Path)
    parser.add_argument("--extra-index-url", action="append", default=[])
    parser.add_argument("requirements", nargs="+")
    args = parser.parse_args(argv)
    target = args.target.resolve()
    target.mkdir(parents=True, exist_ok=True)
    work = target / WORK_DIR_NAME
    if work.exists():
        remove_inside(target, work)  # left by a run that was killed
    work.mkdir()
    env = {**os.environ, "TMPDIR": str(work), "TEMP": str(work), "TMP": str(work)}
    index = [option for url in args.extra_index_url for option in ("--extra-index-url", url)]
    try:
        planned = plan(args.requirements, args.constraints.resolve(), index, work, env)
        if isinstance(planned, int):
            return planned
        clashes = conflicts(planned)
        if clashes:
            say(
                f"ForestGaps cannot install {' '.join(args.requirements)} into {target}: "
                f"QGIS's Python has {'; '.join(clashes)}, and QGIS would keep loading its own "
                "copy; update those packages in QGIS's Python (OSGeo4W setup, your system's "
                "package manager), then press Install again.",
                sys.stderr,
            )
            return EXIT_REFUSED
        if not planned:
            say(f"Nothing to install: QGIS's Python already has {' '.join(args.requirements)}.")
            return 0
        pinned = [f"{name}=={version}" for name, version in planned]
        return pip(
            ["install", "--target", str(target), "--no-deps", "--upgrade", *PIP_OPTIONS,
             *index, *pinned],
            env,
        )  # fmt: skip
    finally:
        remove_inside(target, work)


if __name__ == "__main__":
    sys.exit(main())
