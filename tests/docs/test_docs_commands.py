"""The documented commands match the CLI and the Makefile (static part of make docs-check)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def docs_check() -> ModuleType:
    """scripts/docs_check.py loaded as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("docs_check", REPO / "scripts" / "docs_check.py")
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve the module's annotations through sys.modules
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def check_markdown(docs_check: ModuleType, path: Path, text: str, run: bool = False) -> list:
    """Results of the checker on one markdown text written to ``path``."""
    path.write_text(text, encoding="utf-8")
    return docs_check.check_documents([path], run=run)


def test_every_documented_command_flag_and_target_exists(docs_check):
    results = docs_check.check_documents(docs_check.documents([]), run=False)
    failures = [
        f"{r.command.doc}:{r.command.line} {r.command.text}: {r.detail}"
        for r in results
        if r.status == "FAIL"
    ]
    assert not failures, "\n".join(failures)
    documented = {r.command.doc for r in results}
    assert "README.md" in documented and "docs/training.md" in documented
    assert sum(r.status == "ok" for r in results) >= 20


def test_wrong_flag_subcommand_and_target_are_failures(docs_check, tmp_path):
    text = (
        "Inline `forestgaps predict DSM.tif --tresholds 5` is checked too.\n\n"
        "```bash\n"
        "forestgaps predict DSM.tif --model MODEL \\\n"
        "    --out DIR --thresholds 5\n"
        "forestgaps detect DSM.tif\n"
        "make no-such-target\n"
        "forestgaps export MODEL --format tflite\n"
        "forestgaps info --json\n"
        "```\n"
    )
    results = check_markdown(docs_check, tmp_path / "wrong.md", text)
    by_line = {r.command.line: r for r in results}
    assert by_line[1].status == "FAIL" and "--tresholds" in by_line[1].detail
    assert by_line[4].status == "FAIL" and "forestgaps predict has no option --thresholds" in (
        by_line[4].detail
    )
    assert by_line[6].status == "FAIL" and "no subcommand 'detect'" in by_line[6].detail
    assert by_line[7].status == "FAIL" and "no-such-target" in by_line[7].detail
    assert by_line[8].status == "FAIL" and "tflite" in by_line[8].detail
    assert by_line[9].status == "ok"
    assert docs_check.main([str(tmp_path / "wrong.md"), "--static"]) == 1


def test_extraction_joins_continuations_skips_comments_and_console_output(docs_check):
    text = (
        "<!-- docs-check: skip needs a GPU -->\n"
        "```console\n"
        "$ forestgaps info \\\n"
        "      --json\n"
        "some output\n"
        "```\n"
        "```bash\n"
        "# a comment line\n"
        "make demo  # trailing comment\n"
        "```\n"
        "```python\n"
        "forestgaps = 1\n"
        "```\n"
    )
    commands = docs_check.extract_commands(text, "x.md")
    assert [(c.line, c.text, c.mode) for c in commands] == [
        (3, "forestgaps info --json", "skip"),
        (9, "make demo  # trailing comment", ""),
    ]
    assert commands[0].reason == "needs a GPU"


def test_wrappers_and_other_programs(docs_check, tmp_path):
    text = (
        "```bash\n"
        "seq 0 1 | xargs -P 2 -I{} env CUDA_VISIBLE_DEVICES={} forestgaps predict tiles/ \\\n"
        "    --model MODEL --out out/ --shard-index {} --shard-count 2\n"
        "python -m forestgaps_engine.cli.main train --config configs/quick.yaml --epochs 3\n"
        "pip install forestgaps\n"
        "torchrun --standalone --nproc_per_node=2 -m forestgaps_engine.cli.main train \\\n"
        "    --config configs/quick.yaml\n"
        "torchrun --nproc_per_gpu=2 -m forestgaps_engine.cli.main train --config x.yaml\n"
        'pip install ".[serve,no-such-extra]"\n'
        "```\n"
    )
    results = check_markdown(docs_check, tmp_path / "wrap.md", text)
    assert [r.status for r in results] == ["ok", "FAIL", "documented", "ok", "FAIL", "FAIL"]
    assert "forestgaps train has no option --epochs" in results[1].detail
    assert "torchrun has no option --nproc_per_gpu" in results[4].detail
    assert "no extra 'no-such-extra'" in results[5].detail


def test_run_blocks_are_run_and_a_failing_run_fails(docs_check, tmp_path):
    text = (
        "<!-- docs-check: run -->\n"
        "```bash\n"
        "forestgaps gaps-from-chm CHM.tif --threshold 5 --out DIR\n"
        "forestgaps gaps-from-chm missing_chm.tif --threshold 5 --out DIR\n"
        "make test\n"
        "```\n"
    )
    results = check_markdown(docs_check, tmp_path / "run.md", text, run=True)
    assert [r.status for r in results] == ["run", "FAIL", "ok"]
    assert re.search(r"exit 2", results[1].detail)
    assert any("whole test suite" in note for note in results[2].notes)


def test_changelog_top_version_is_the_package_version():
    from forestgaps_engine.version import __version__

    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", changelog, re.M)
    assert versions, "CHANGELOG.md has no '## [X.Y.Z] - YYYY-MM-DD' section"
    assert versions[0][0] == __version__


def test_a_marker_without_a_shell_block_is_a_failure(docs_check, tmp_path):
    text = "<!-- docs-check: run -->\nSome prose.\n\n\n```bash\nforestgaps info\n```\n"
    results = check_markdown(docs_check, tmp_path / "dangling.md", text)
    assert [(r.command.line, r.status) for r in results] == [(1, "FAIL"), (6, "ok")]
    assert "not followed by a shell block" in results[0].detail
