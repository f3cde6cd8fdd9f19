"""Count the Python lines a list of commits added and removed in the engine and the plugin.

Reads a commit list (one ``hash  short reason`` per line, ``#`` comments and blank lines
skipped), checks that every commit descends from the base commit, and prints JSON: per
commit and in total, lines added / removed / net in ``forestgaps_engine/**/*.py`` and in
``plugin/**/*.py``, and the combined net. Counts come from
``git show --numstat --no-renames``, so a file moved between the plugin and the engine
counts as removed on one side and added on the other: the engine-only net shows what the
engine gained, the combined net shows what the move saved.

For context it also counts the whole range ``base..HEAD`` (every commit, every issue).

Example::

    python scripts/count_issue_lines.py --base c76b409 --commits docs/issue25_commits.txt
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AREAS = {"engine": "forestgaps_engine", "plugin": "plugin"}


def git(*args: str) -> str:
    """Run git in the repository and return its standard output."""
    return subprocess.run(
        ["git", *args], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout


def read_commit_list(path: Path) -> list[tuple[str, str]]:
    """Return (hash, reason) pairs of a commit list file, in file order."""
    commits = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        commit_hash, _, reason = line.partition(" ")
        commits.append((commit_hash, reason.strip()))
    return commits


def area_counts(numstat: str) -> dict[str, dict[str, int]]:
    """Sum a numstat listing's added/removed lines of Python files per area."""
    counts = {area: {"added": 0, "removed": 0} for area in AREAS}
    for line in numstat.splitlines():
        parts = line.split("\t")
        # Binary files show "-" for both counts and are no lines of code.
        if len(parts) != 3 or not parts[2].endswith(".py") or parts[0] == "-":
            continue
        for area, folder in AREAS.items():
            if parts[2].startswith(folder + "/"):
                counts[area]["added"] += int(parts[0])
                counts[area]["removed"] += int(parts[1])
    for area_count in counts.values():
        area_count["net"] = area_count["added"] - area_count["removed"]
    return counts


def with_combined(counts: dict[str, dict[str, int]]) -> dict:
    """Add the engine + plugin net to one area count."""
    return {**counts, "combined_net": sum(c["net"] for c in counts.values())}


def numstat(*revision: str) -> str:
    """Return the numstat of a commit (one hash) or of a range (two hashes), renames split."""
    paths = ["--", *AREAS.values()]
    if len(revision) == 1:
        return git("show", "--numstat", "--no-renames", "--format=", revision[0], *paths)
    return git("diff", "--numstat", "--no-renames", *revision, *paths)


def main(argv: list[str] | None = None) -> int:
    """Print the JSON count; exit 2 when the list is missing or a commit is not after the base."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="commit before the issue's work began")
    parser.add_argument("--commits", required=True, type=Path, help="commit list file")
    args = parser.parse_args(argv)

    if not args.commits.is_file():
        sys.stderr.write(f"{args.commits}: no such commit list; check the --commits path\n")
        return 2
    per_commit = []
    totals = {area: {"added": 0, "removed": 0, "net": 0} for area in AREAS}
    for commit_hash, reason in read_commit_list(args.commits):
        is_after_base = (
            subprocess.run(
                ["git", "merge-base", "--is-ancestor", args.base, commit_hash],
                cwd=REPO,
                capture_output=True,
            ).returncode
            == 0
        )
        if not is_after_base or git("rev-parse", commit_hash) == git("rev-parse", args.base):
            sys.stderr.write(
                f"{args.commits}: commit {commit_hash} is unknown or not after --base "
                f"{args.base}; remove it from the list or fix the hash\n"
            )
            return 2
        counts = area_counts(numstat(commit_hash))
        for area, area_count in counts.items():
            for key, value in area_count.items():
                totals[area][key] += value
        per_commit.append({"commit": commit_hash, "reason": reason, **with_combined(counts)})

    report = {
        "base": args.base,
        "commit_count": len(per_commit),
        "total": with_combined(totals),
        "whole_range": with_combined(area_counts(numstat(args.base, "HEAD"))),
        "commits": per_commit,
    }
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
