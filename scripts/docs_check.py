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

Running: a fenced block preceded (within three lines) by ``<!-- docs-check: run -->`` has
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
import contextlib
import functools
import hashlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
SHELL_LANGS = {"bash", "sh", "shell", "console"}
MARKER = re.compile(r"<!--\s*docs-check:\s*(run|skip)\b\s*(.*?)\s*-->")
INLINE = re.compile(r"`((?:forestgaps|make|python) [^`]+)`")
FLAG = re.compile(r"^--[A-Za-z][\w-]*")
CLI_MODULE = "forestgaps_engine.cli.main"
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
PLACEHOLDERS = (
    "DSM.tif",
    "CHM.tif",
    "MODEL_DIR",
    "MODEL",
    "PATH",
    "DIR",
    "tiles/",
    "extra.tif",
    "cloud.laz",
)


@dataclass(frozen=True)
class Command:
    """One documented command.

    Attributes:
        doc: Markdown file, relative to the repository.
        line: 1-based line of the command's first line.
        text: the command, continuations joined, without a console ``$ ``.
        is_inline: from an inline code span (static checks only, no argparse parse).
        mode: ``"run"``, ``"skip"`` or ``""`` (no marker) for the enclosing block.
        reason: the reason given by a skip marker.
    """

    doc: str
    line: int
    text: str
    is_inline: bool = False
    mode: str = ""
    reason: str = ""


@dataclass
class Result:
    """Outcome of the checks on one command: ``status`` is ok, run, documented or FAIL."""

    command: Command
    status: str
    detail: str
    notes: list[str] = field(default_factory=list)


def extract_commands(text: str, doc: str) -> list[Command]:
    """Commands of one markdown text (see the module docstring for the rules)."""
    lines = text.splitlines()
    commands: list[Command] = []
    lang: str | None = None
    mode, reason, pending, pending_line = "", "", "", 0
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            if lang is None:
                lang = stripped[3:].strip().lower()
                mode, reason = "", ""
                for previous in lines[max(0, number - 4) : number - 1]:
                    marker = MARKER.search(previous)
                    if marker:
                        mode, reason = marker.group(1), marker.group(2)
            else:
                lang = None
            continue
        if lang is None:
            commands += [
                Command(doc, number, span.strip(), is_inline=True) for span in INLINE.findall(line)
            ]
            continue
        if lang not in SHELL_LANGS:
            continue
        if not pending:
            if lang == "console":
                if not stripped.startswith("$ "):
                    continue
                stripped = stripped[2:]
            if not stripped or stripped.startswith("#"):
                continue
            pending_line = number
        pending += stripped
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip() + " "
            continue
        commands.append(Command(doc, pending_line, pending, mode=mode, reason=reason))
        pending = ""
    return commands


def split_segments(text: str) -> list[list[str]]:
    """Simple commands of a shell line (split on ``|``, ``&&``, ``||``, ``;``), comments cut."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    segments: list[list[str]] = [[]]
    for token in lexer:
        if token in {"|", "||", "&&", ";", "&"}:
            segments.append([])
        else:
            segments[-1].append(token)
    return [segment for segment in segments if segment]


def unwrap(words: list[str]) -> list[str]:
    """Drop ``VAR=value``, ``env``, ``sudo`` and ``xargs`` options in front of a program."""
    words = list(words)
    while words:
        head = words[0]
        if re.fullmatch(r"[A-Za-z_]\w*=\S*", head) or head in {"env", "sudo", "exec"}:
            words.pop(0)
        elif head == "xargs":
            words.pop(0)
            while words and words[0].startswith("-"):
                option = words.pop(0)
                if option in {"-P", "-n", "-I", "-d", "-L"} and words:
                    words.pop(0)
        else:
            break
    return [word.replace("{}", "0") for word in words]


def forestgaps_args(words: list[str]) -> list[str] | None:
    """The arguments given to the forestgaps CLI, or None when ``words`` is another program."""
    name = Path(words[0]).name
    if name == "forestgaps":
        return words[1:]
    if CLI_MODULE in words and (name.startswith("python") or name == "torchrun"):
        index = words.index(CLI_MODULE)
        if index > 0 and words[index - 1] == "-m":
            return words[index + 1 :]
    return None


@functools.lru_cache(maxsize=1)
def parser_tree() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The real CLI parser and its subparsers by name."""
    sys.path.insert(0, str(REPO))
    from forestgaps_engine.cli.main import build_parser

    parser = build_parser()
    subparsers = {
        name: sub
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, sub in action.choices.items()
    }
    return parser, subparsers


def check_forestgaps(args: list[str], is_inline: bool) -> list[str]:
    """Errors of one forestgaps argument list against the real parser (empty when fine)."""
    parser, subparsers = parser_tree()
    global_flags = {option for action in parser._actions for option in action.option_strings}
    global_valued = {
        option
        for action in parser._actions
        if action.nargs != 0
        for option in action.option_strings
    }
    errors: list[str] = []
    sub: argparse.ArgumentParser | None = None
    previous = ""
    for word in (word.strip("[]") for word in args):
        flag = FLAG.match(word)
        if sub is None and previous in global_valued:
            previous = ""
            continue
        previous = word
        if flag:
            known = global_flags | (
                {o for a in sub._actions for o in a.option_strings} if sub else set()
            )
            if flag.group(0) not in known:
                where = f"forestgaps {sub.prog.split()[-1]}" if sub else "forestgaps"
                errors.append(f"{where} has no option {flag.group(0)}")
        elif sub is None and not word.startswith("-") and re.fullmatch(r"[a-z][\w-]*", word):
            if word not in subparsers:
                errors.append(f"no subcommand {word!r} (have: {', '.join(sorted(subparsers))})")
                return errors
            sub = subparsers[word]
    if errors or is_inline:
        return errors
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(args)
    except SystemExit as error:
        if error.code not in (0, None):
            errors.append("argparse: " + stderr.getvalue().strip().splitlines()[-1])
    return errors


def substitute(text: str, inputs: dict[str, str]) -> str:
    """Replace whole-word placeholders (``MODEL``, ``DSM.tif``...) by real paths."""
    for name in PLACEHOLDERS:
        text = re.sub(rf"(?<![\w./$-]){re.escape(name)}(?![\w.-])", inputs[name], text)
    return text


@functools.lru_cache(maxsize=64)
def make_target_error(target: str) -> str:
    """Why ``make -n target`` fails in the repository ('' when the target exists)."""
    done = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True)
    return "" if done.returncode == 0 else f"make target {target!r}: {done.stderr.strip()}"


@functools.lru_cache(maxsize=1)
def torchrun_source() -> str:
    """Source of torch.distributed.run, where torchrun's options are declared.

    Read rather than ``torchrun --help``, which imports torch (seconds).
    """
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return ""
    run_py = Path(spec.origin).parent / "distributed" / "run.py"
    return run_py.read_text(encoding="utf-8") if run_py.exists() else ""


def flags_of(words: list[str]) -> list[str]:
    """The ``--flags`` among ``words`` (``--a=1`` gives ``--a``)."""
    return [match.group(0) for match in map(FLAG.match, words) if match]


def declares(source: str, flag: str) -> bool:
    """Whether Python ``source`` declares ``flag`` as a string literal (argparse style).

    Reading the source instead of running ``--help`` avoids importing torch (seconds).
    """
    return f'"{flag}"' in source or f"'{flag}'" in source


def missing_extras(words: list[str]) -> list[str]:
    """Extras named by ``pip install ".[a,b]"`` (this project) that pyproject.toml lacks."""
    import tomllib

    with (REPO / "pyproject.toml").open("rb") as stream:
        extras = tomllib.load(stream).get("project", {}).get("optional-dependencies", {})
    named = [
        name.strip()
        for word in words
        if (match := re.fullmatch(r"(?:-e)?\.\[([\w,\s-]+)\]", word))
        for name in match.group(1).split(",")
    ]
    return [name for name in named if name not in extras]


def which(program: str) -> str | None:
    """The program in the venv first, then on PATH."""
    candidate = VENV_BIN / program
    return str(candidate) if candidate.exists() else shutil.which(program)


def check_processing(words: list[str]) -> list[str]:
    """qgis_process: the forestgaps algorithm id and its parameter names must exist."""
    if "run" not in words:
        return []
    algorithm = words[words.index("run") + 1]
    if not algorithm.startswith("forestgaps:"):
        return []
    name = algorithm.split(":", 1)[1]
    for path in sorted((REPO / "plugin" / "processing").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        if re.search(rf'def name\(self\)[^:]*:\s*return "{re.escape(name)}"', source):
            params = [w.split("=", 1)[0] for w in words if re.fullmatch(r"[A-Z_]+=.*", w)]
            return [f"{algorithm} has no parameter {p}" for p in params if f'"{p}"' not in source]
    return [f"no Processing algorithm {algorithm} in plugin/processing/"]


def check_static(command: Command, inputs: dict[str, str]) -> Result:
    """Static checks of one command (the program, its subcommand and flags)."""
    text = substitute(command.text, inputs)
    errors: list[str] = []
    checked: list[str] = []
    documented: list[str] = []
    try:
        segments = split_segments(text)
    except ValueError as error:
        return Result(command, "FAIL", f"cannot split the line: {error}")
    for raw in segments:
        words = unwrap(raw)
        if not words:
            continue
        program = Path(words[0]).name
        cli_args = forestgaps_args(words)
        if cli_args is not None:
            errors += check_forestgaps(cli_args, command.is_inline)
            checked.append("forestgaps")
            if program == "torchrun":
                launcher_words = words[1 : words.index(CLI_MODULE) - 1]
                errors += [
                    f"torchrun has no option {flag}"
                    for flag in flags_of(launcher_words)
                    if not declares(torchrun_source(), flag)
                ]
        elif program == "make":
            targets = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
            errors += [error for target in targets if (error := make_target_error(target))]
            checked.append("make")
        elif program.startswith("python") and len(words) > 1 and words[1].endswith(".py"):
            script = REPO / words[1]
            if not script.exists():
                errors.append(f"no script {words[1]}")
            else:
                errors += [
                    f"{words[1]} has no option {flag}"
                    for flag in flags_of(words[2:])
                    if not declares(script.read_text(encoding="utf-8"), flag)
                ]
            checked.append("script")
        elif program in {"torchrun", "tensorboard", "qgis_process", "qgis_process.bin"}:
            if which(program) is None:
                documented.append(f"{program} not installed here")
            elif program.startswith("qgis_process"):
                errors += check_processing(words)
                checked.append(program)
            else:
                checked.append(program)
        elif program in {"pip", "pip3"} or words[1:3] == ["-m", "pip"]:
            missing = missing_extras(words)
            errors += [f"pyproject.toml has no extra {extra!r}" for extra in missing]
            documented.append("pip: extras checked against pyproject.toml, not run")
        elif program in {"seq", "export", "cd", "mkdir", "ls", "cat"}:
            continue
        else:
            documented.append(f"{program}: other program, not checked")
    if errors:
        return Result(command, "FAIL", "; ".join(errors))
    if checked:
        return Result(command, "ok", "checked: " + ", ".join(checked), documented)
    return Result(command, "documented", "; ".join(documented) or "nothing to check")


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
            for command in extract_commands(path.read_text(encoding="utf-8"), doc):
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
        text = (
            result.command.text
            if len(result.command.text) <= 70
            else (result.command.text[:67] + "...")
        )
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
