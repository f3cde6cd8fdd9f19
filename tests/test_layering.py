"""The engine's rooms import downwards only, as docs/architecture.md orders them.

Every module under forestgaps_engine/ is parsed (ast, imports inside functions included)
and each import of another room must go to a room of lower rank. Rooms sharing a rank are
siblings that never import each other (training and inference, region and evaluation).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE_DIR = Path(__file__).resolve().parents[1] / "forestgaps_engine"
PACKAGE = "forestgaps_engine"

# Lower rank = lower room; keep in step with the "Rooms in order" table of docs/architecture.md.
ROOM_RANKS = {
    "version": 0,
    "__init__": 1,
    "errors": 1,
    "machine": 1,
    "partials": 1,
    "log": 2,
    "signals": 2,
    "threads": 2,
    "files": 3,
    "progress": 3,
    "config": 4,
    "environment": 4,
    "geo": 5,
    "gaps": 6,
    "synth": 6,
    "metrics": 6,
    "models": 7,
    "data": 8,
    "training": 9,
    "inference": 9,
    "detection": 10,
    "region": 11,
    "evaluation": 11,
    "experiments": 12,
    "serve": 12,
    "demo": 12,
    "cli": 13,
}
FOUNDATION_RANK = 3  # modules at the package root: each imports only lower root modules
FORBIDDEN_ROOTS = ("qgis", "PyQt5", "PyQt6", "PyQt", "sip", "plugin")
# Allowed upward imports: none remain. Add (importer module, imported module, reason) here.
EXCEPTIONS: set[tuple[str, str]] = set()


def _module_name(path: Path, engine_dir: Path = ENGINE_DIR) -> str:
    parts = path.relative_to(engine_dir.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, engine_dir: Path = ENGINE_DIR) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in a file, at any depth."""
    module = _module_name(path, engine_dir)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # ``from forestgaps_engine import files`` imports the submodule ``files``
            if target == PACKAGE:
                found += [(node.lineno, f"{PACKAGE}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
    return found


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _engine_files() -> list[Path]:
    return sorted(ENGINE_DIR.rglob("*.py"))


def test_every_room_has_a_rank():
    rooms = {_room(_module_name(path)) for path in _engine_files()}
    assert rooms - set(ROOM_RANKS) == set(), "give new rooms a rank here and in the docs"


def test_imports_go_down_the_rooms():
    upward = []
    for path in _engine_files():
        importer = _module_name(path)
        importer_room = _room(importer)
        for line, target in _imports(path):
            if not target.startswith(PACKAGE + ".") and target != PACKAGE:
                continue
            target_room = _room(target)
            if target_room == importer_room or (importer, target) in EXCEPTIONS:
                continue
            if ROOM_RANKS[target_room] >= ROOM_RANKS[importer_room]:
                upward.append(f"{path.relative_to(ENGINE_DIR.parent)}:{line}: {target}")
    assert upward == [], "imports against the room order:\n" + "\n".join(upward)


def test_root_modules_are_below_every_room():
    roots = [room for room in ROOM_RANKS if (ENGINE_DIR / f"{room}.py").is_file()]
    rooms = [room for room in ROOM_RANKS if (ENGINE_DIR / room).is_dir()]
    assert max(ROOM_RANKS[r] for r in roots if r != "demo") <= FOUNDATION_RANK
    assert min(ROOM_RANKS[r] for r in rooms) > FOUNDATION_RANK


def test_engine_never_imports_qgis_qt_or_plugin():
    found = [
        f"{path.relative_to(ENGINE_DIR.parent)}:{line}: {target}"
        for path in _engine_files()
        for line, target in _imports(path)
        if target.split(".")[0] in FORBIDDEN_ROOTS
    ]
    assert found == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from forestgaps_engine.data import prepare\n", "forestgaps_engine.data"),
        ("def f():\n    import forestgaps_engine.cli.main\n", "forestgaps_engine.cli.main"),
        ("from forestgaps_engine import files\n", "forestgaps_engine.files"),
        ("from ..data.sites import x\n", "forestgaps_engine.data.sites"),
    ],
)
def test_import_parser_sees_every_form(tmp_path, source, expected):
    module = tmp_path / PACKAGE / "gaps" / "probe.py"
    module.parent.mkdir(parents=True)
    module.write_text(source, "utf-8")
    assert [target for _, target in _imports(module, tmp_path / PACKAGE)] == [expected]


def test_only_the_cli_imports_experiments():
    importers = [
        f"{path.relative_to(ENGINE_DIR.parent)}:{line}: {target}"
        for path in _engine_files()
        for line, target in _imports(path)
        if _room(target) == "experiments"
        and _room(_module_name(path)) not in ("experiments", "cli")
        and target.startswith(PACKAGE + ".")
    ]
    assert importers == []
