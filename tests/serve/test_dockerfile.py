"""The service's Dockerfile (no Docker engine here: its instructions are checked as text)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (REPO_ROOT / "Dockerfile").read_text("utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            pairs.append((keyword.upper(), " ".join(arguments.split())))
    return pairs


def test_base_image_and_cpu_torch() -> None:
    steps = instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = [args for keyword, args in steps if keyword == "RUN"]
    assert any("torch==2.13.0" in run and "download.pytorch.org/whl/cpu" in run for run in runs)
    assert any("[torch,serve,export]" in run for run in runs)


def test_runs_as_a_non_root_user() -> None:
    steps = instructions()
    users = [(index, args) for index, (keyword, args) in enumerate(steps) if keyword == "USER"]
    assert users, "no USER instruction"
    last_index, user = users[-1]
    assert user not in ("root", "0")
    # Nothing after the switch may run as root again or install.
    assert all(keyword != "RUN" for keyword, _ in steps[last_index:])


def test_exposes_8000_with_a_health_check_and_serves_on_all_interfaces() -> None:
    steps = dict(instructions())
    assert steps["EXPOSE"] == "8000"
    assert "/health" in steps["HEALTHCHECK"] and "127.0.0.1:8000" in steps["HEALTHCHECK"]
    command = json.loads(steps["CMD"])
    assert command[:2] == ["forestgaps", "serve"]
    assert command[command.index("--host") + 1] == "0.0.0.0"


def test_copied_paths_exist_and_are_not_ignored() -> None:
    ignored = {
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "tests"} <= ignored
    for keyword, args in instructions():
        if keyword == "COPY":
            *sources, _target = shlex.split(args)
            for source in sources:
                assert (REPO_ROOT / source).exists(), source
                assert source not in ignored, source


def test_the_token_comes_from_the_environment_and_is_not_baked_in() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text("utf-8")
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    # The container serves on 0.0.0.0, which `forestgaps serve` refuses without a token.
    assert "-e FORESTGAPS_TOKEN" in header and "FORESTGAPS_ALLOWED_HOSTS" in header
    for keyword, args in instructions():
        if keyword in ("ENV", "ARG"):
            assert "FORESTGAPS_TOKEN" not in args, "a token baked into the image"


def test_ogr2ogr_is_installed_for_geojson() -> None:
    runs = [args for keyword, args in instructions() if keyword == "RUN"]
    assert any("apt-get install" in run and "gdal-bin" in run for run in runs)
