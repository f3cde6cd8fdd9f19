"""Documented shell commands and their static checks (no command is run here).

``extract_commands`` reads the commands of a markdown text; ``check_static`` checks one
against the code: the forestgaps CLI parser, the Makefile, scripts' declared options,
torchrun's options, pyproject.toml's extras, the plugin's Processing algorithms. The rules
are described in ``scripts/docs_check.py``, which runs these checks and the marked blocks.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
SHELL_LANGS = {"bash", "sh", "shell", "console"}
MARKER = re.compile(r"<!--\s*docs-check:\s*(run|skip)\b\s*(.*?)\s*-->")
INLINE = re.compile(r"`((?:forestgaps|make|python) [^`]+)`")
FLAG = re.compile(r"^--[A-Za-z][\w-]*")
CLI_MODULE = "forestgaps_engine.cli.main"
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
                    marker = MARKER.match(previous.strip())
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


def dangling_markers(text: str, doc: str) -> list[Result]:
    """A failure per docs-check marker that no shell block follows within three lines."""
    lines = text.splitlines()
    failures = []
    for number, line in enumerate(lines, 1):
        if MARKER.match(line.strip()) and not any(
            following.strip().lower().lstrip("`") in SHELL_LANGS
            and following.strip().startswith("```")
            for following in lines[number : number + 3]
        ):
            command = Command(doc, number, line.strip())
            failures.append(Result(command, "FAIL", "marker not followed by a shell block"))
    return failures


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
    folder = REPO / "plugin" / "processing"
    # Parameters shared by several algorithms are declared in the base modules (_*.py).
    shared = "".join(path.read_text(encoding="utf-8") for path in sorted(folder.glob("_*.py")))
    declares_name = (
        rf'def name\(self\)[^:]*:\s*return "{re.escape(name)}"'
        rf'|^\s+NAME = "{re.escape(name)}"$'
    )
    for path in sorted(folder.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        if re.search(declares_name, source, flags=re.MULTILINE):
            params = [w.split("=", 1)[0] for w in words if re.fullmatch(r"[A-Z_]+=.*", w)]
            return [
                f"{algorithm} has no parameter {p}"
                for p in params
                if f'"{p}"' not in source and f'"{p}"' not in shared
            ]
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
