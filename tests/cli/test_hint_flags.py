"""Hints name only flags of the command in use (issue #23: ``--crs`` told to predict users).

The engine's messages are read statically: every string in a ``hint=``, in the arguments
of an ``...Error(...)`` or of a ``logger.warning/error/info`` call. A flag such a string
names must exist on every command whose module imports (directly or not) the module the
string is in. Strings about other tools (gdal_edit.py, tensorboard, torchrun) are skipped.

The import graph over-approximates which command can raise what, so the full check runs
on the modules every input-reading command shares (the read side: rasters, CRS, units,
fill values, thresholds); across the whole engine a named flag must at least exist on
some command. Not yet covered (#23): geo/lidar.py names rasterize's flags and
evaluation/reference.py evaluate's, though benchmark, prepare and evaluate-heldout reach
them through configs.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import re
from pathlib import Path

import pytest

from forestgaps_engine.cli.main import build_parser, command_modules

ENGINE = Path(__file__).resolve().parents[2] / "forestgaps_engine"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
OTHER_TOOL = re.compile(r"gdal|ogr2ogr|tensorboard|torchrun|pip |python -m|optuna")
# Read by every command that opens an input raster or cloud.
READ_SIDE = (
    "forestgaps_engine.geo.raster_io",
    "forestgaps_engine.geo.crs",
    "forestgaps_engine.geo.warp",
    "forestgaps_engine.geo.units",
    "forestgaps_engine.geo.nodata",
    "forestgaps_engine.geo.read_budget",
    "forestgaps_engine.gaps.thresholds",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ENGINE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in ENGINE.rglob("*.py")}
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def _imports(name: str) -> set[str]:
    found = set()
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found & MODULES.keys()


def _reached(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_imports(name))
    return seen


def _message_texts(tree: ast.AST) -> list[str]:
    texts = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        parts = [keyword.value for keyword in call.keywords if keyword.arg == "hint"]
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in ("warning", "error", "info"):
            parts += call.args[:1]
        if isinstance(func, ast.Name) and func.id.endswith("Error"):
            parts += call.args[:2]
        texts += [
            node.value
            for part in parts
            for node in ast.walk(part)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        ]
    return [text for text in texts if not OTHER_TOOL.search(text)]


def _command_flags() -> tuple[dict[str, set[str]], dict[str, str]]:
    parser = build_parser()
    global_flags = {option for action in parser._actions for option in action.option_strings}
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    flags = {
        name: global_flags
        | {option for action in sub._actions for option in action.option_strings}
        for name, sub in subparsers.choices.items()
    }
    module_of = {}
    for module_name in command_modules():
        probe = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module_name).register(probe)
        module_of.update({name: module_name for name in probe.choices})
    return flags, module_of


FLAGS, MODULE_OF = _command_flags()
REACHED = {command: _reached(module) for command, module in MODULE_OF.items()}


@pytest.mark.parametrize("module", READ_SIDE)
def test_read_side_hints_name_only_flags_every_reading_command_has(module):
    named = {flag for text in _message_texts(TREES[module]) for flag in FLAG.findall(text)}
    lacking = {
        (flag, command)
        for flag in named
        for command, reached in REACHED.items()
        if module in reached and flag not in FLAGS[command]
    }
    assert not lacking, f"{module} names flags these commands lack: {sorted(lacking)}"


def test_every_flag_a_hint_names_exists():
    every_flag = set().union(*FLAGS.values())
    unknown = {
        (name, flag)
        for name, tree in TREES.items()
        for text in _message_texts(tree)
        for flag in FLAG.findall(text)
        if flag not in every_flag
    }
    assert not unknown, f"hints name flags no command has: {sorted(unknown)}"


def test_the_check_sees_the_crs_hint_it_guards_against():
    # The old hint of geo/crs.py: predict and evaluate read rasters but have no --crs.
    tree = ast.parse('raise CRSMismatchError("x", hint="Assign a CRS (--crs EPSG:XXXX).")')
    assert [FLAG.findall(text) for text in _message_texts(tree)] == [["--crs"], []]
    assert "forestgaps_engine.geo.crs" in REACHED["predict"]
    assert "--crs" not in FLAGS["predict"] and "--crs" not in FLAGS["evaluate"]
