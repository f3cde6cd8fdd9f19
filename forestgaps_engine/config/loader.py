"""Load a YAML config, apply ``--set key.path=value`` overrides, validate, explain errors."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from forestgaps_engine.config.root import ForestGapsConfig
from forestgaps_engine.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


def parse_override(override: str) -> tuple[list[str], Any]:
    """Split ``"training.optimizer.lr=3e-4"`` into a key path and a YAML-typed value."""
    key, sep, raw_value = override.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(
            f"override {override!r} is not of the form key.path=value",
            hint="Write for example --set training.epochs=3",
        )
    try:
        value = yaml.safe_load(raw_value) if raw_value.strip() else None
    except yaml.YAMLError as error:
        raise ConfigError(
            f"override {override!r}: value {raw_value!r} is not valid YAML ({error})",
            hint="Quote strings and write lists as [2, 5, 10].",
        ) from error
    return key.split("."), value


def apply_overrides(document: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``document`` with each ``key.path=value`` set (nested dicts created)."""
    result = copy.deepcopy(document)
    for override in overrides:
        path, value = parse_override(override)
        node = result
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}  # a missing or scalar parent becomes a section
            node = node[part]
        node[path[-1]] = value
    return result


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping, raising ConfigError naming the file on any problem."""
    if not path.is_file():
        available = ", ".join(sorted(p.name for p in CONFIG_DIR.glob("*.yaml")))
        raise ConfigError(
            f"config file {str(path)!r} does not exist",
            hint=f"Pass an existing YAML file; the shipped ones are in {CONFIG_DIR}: {available}",
        )
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(
            f"{path}: not valid YAML ({error})", hint="Fix the YAML syntax at the line shown."
        ) from error
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of sections, got {type(document).__name__}",
            hint="Start the file with section names such as 'training:'.",
        )
    return document


def include_sites(document: dict[str, Any], source: Path | None) -> dict[str, Any]:
    """``data.sites_from: [FILE, ...]``: the sites of each file's ``data.sites``, then its own.

    One corpus file (``configs/real_sites.yaml``) then feeds every recipe that trains or
    scores on it, instead of each repeating its site entries.

    Raises:
        ConfigError: ``sites_from`` is not a list of files holding ``data.sites`` lists.
    """
    data = document.get("data")
    if not isinstance(data, dict) or "sites_from" not in data:
        return document
    files = data["sites_from"]
    where = f"{source}: data.sites_from" if source else "data.sites_from"
    if not isinstance(files, list) or not all(isinstance(item, str) for item in files):
        raise ConfigError(
            f"{where} = {files!r}: must be a list of YAML files",
            hint="Write data.sites_from: [configs/real_sites.yaml].",
        )
    included: list[Any] = []
    for name in files:
        sites = (read_yaml(Path(name)).get("data") or {}).get("sites")
        if not isinstance(sites, list):
            raise ConfigError(
                f"{where}: {name} has no data.sites list",
                hint="Name a file whose data section lists sites (configs/real_sites.yaml).",
            )
        included.extend(sites)
    result = copy.deepcopy(document)
    del result["data"]["sites_from"]
    result["data"]["sites"] = included + list(result["data"].get("sites") or [])
    return result


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> ForestGapsConfig:
    """Load and validate a config; keys absent from the file take the schema defaults.

    Args:
        path: a YAML file, or None for the defaults alone.
        overrides: ``key.path=value`` strings applied after the file.

    Raises:
        ConfigError: naming the file, the key path, the bad value and what is allowed.
    """
    source = Path(path) if path is not None else None
    document = read_yaml(source) if source is not None else {}
    document = include_sites(apply_overrides(document, overrides), source)
    return validate_document(document, source_name=str(source) if source else "<defaults + --set>")


def validate_document(document: dict[str, Any], source_name: str) -> ForestGapsConfig:
    """Validate a parsed config mapping; ``source_name`` is quoted in errors."""
    try:
        return ForestGapsConfig.model_validate(document)
    except ValidationError as error:
        problems = [_describe(problem) for problem in error.errors()]
        raise ConfigError(
            f"{source_name}: " + "; ".join(problems),
            hint="See configs/defaults.yaml for every key, its default and its allowed range.",
        ) from None


def _describe(problem: Mapping[str, Any]) -> str:
    location = [str(part) for part in problem["loc"]]
    key_path = ".".join(location) or "<root>"
    if problem["type"] == "extra_forbidden":
        allowed = _allowed_keys(location[:-1])
        close = difflib.get_close_matches(location[-1], allowed, n=1)
        suggestion = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key {key_path!r}{suggestion} (allowed here: {', '.join(allowed)})"
    value = problem.get("input")
    return f"{key_path} = {value!r}: {problem['msg']}"


def _allowed_keys(parent_path: list[str]) -> list[str]:
    """Field names of the model found at ``parent_path`` (list indices skipped)."""
    model: type[BaseModel] = ForestGapsConfig
    for part in parent_path:
        if part.isdigit():
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return []
        model = nested[0]
    return sorted(model.model_fields)
