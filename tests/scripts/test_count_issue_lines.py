"""scripts/count_issue_lines.py on the repository's own history (real git, real subprocess)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "count_issue_lines.py"
BASE = "c76b409"

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None
    or subprocess.run(["git", "cat-file", "-e", BASE], cwd=REPO, capture_output=True).returncode,
    reason="needs git and the repository's history (commit c76b409)",
)


def _run(commit_list: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--base", BASE, "--commits", str(commit_list)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_counts_engine_and_plugin_per_commit_and_in_total(tmp_path: Path) -> None:
    listing = tmp_path / "commits.txt"
    # a47fabd: psutil replaces /proc/meminfo (engine only, 6 lines fewer);
    # 44b7e59: the panel's detection moves out of the plugin (plugin only).
    listing.write_text("# comment\n\na47fabd  psutil\n44b7e59  panel on detect()\n")
    result = _run(listing)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    first, second = report["commits"]
    assert first["commit"] == "a47fabd" and first["reason"] == "psutil"
    assert first["engine"]["net"] == -6 and first["plugin"]["net"] == 0
    assert second["engine"]["net"] == 0 and second["plugin"]["net"] < 0
    for area in ("engine", "plugin"):
        area_total = report["total"][area]
        assert area_total["net"] == area_total["added"] - area_total["removed"]
        assert area_total["net"] == first[area]["net"] + second[area]["net"]
    assert report["total"]["combined_net"] == first["combined_net"] + second["combined_net"]
    assert report["commit_count"] == 2


def test_unknown_commit_and_missing_list_exit_2_with_one_line(tmp_path: Path) -> None:
    listing = tmp_path / "commits.txt"
    for commit in ("c76b409", "c76b409~1"):
        listing.write_text(f"{commit}  not after the base\n")
        result = _run(listing)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and commit in result.stderr
    missing = _run(tmp_path / "absent.txt")
    assert missing.returncode == 2 and "absent.txt" in missing.stderr
