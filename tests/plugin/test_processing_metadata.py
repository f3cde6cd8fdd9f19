"""metadata.txt carries no placeholder: links only to a repository that exists, no fake email."""

from __future__ import annotations

import configparser
import subprocess
import zipfile
from pathlib import Path

LINK_KEYS = ("homepage", "tracker", "repository")
# Reserved for examples (RFC 2606/6761): never a real address.
PLACEHOLDER_MARKS = ("example.", ".example", ".invalid", ".test", "localhost", "changeme")


def read_general(text: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    return parser["general"]


def origin_url(repo_root: Path) -> str:
    """The checkout's ``origin`` remote, without ``.git`` ("" when there is none)."""
    result = subprocess.run(
        ["git", "-C", str(repo_root), "remote", "get-url", "origin"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return result.stdout.strip().removesuffix(".git") if result.returncode == 0 else ""


def test_metadata_has_no_placeholder_email_or_links(repo_root: Path) -> None:
    general = read_general((repo_root / "metadata.txt").read_text(encoding="utf-8"))

    for key, value in general.items():
        assert not any(mark in value.lower() for mark in PLACEHOLDER_MARKS), (key, value)
    origin = origin_url(repo_root)
    for key in LINK_KEYS:
        if key in general:
            assert origin and general[key].startswith(origin), (key, general[key], origin)


def test_the_zip_keeps_what_qgis_reads_to_load_the_plugin(plugin_zip: Path) -> None:
    text = zipfile.ZipFile(plugin_zip).read("forestgaps/metadata.txt").decode("utf-8")
    general = read_general(text)

    for key in ("name", "description", "about", "version", "qgisMinimumVersion", "author"):
        assert general.get(key), key
