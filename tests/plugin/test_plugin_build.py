"""The plugin zip from scripts/build_plugin.py: layout, metadata, reproducibility."""

from __future__ import annotations

import configparser
import hashlib
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

REQUIRED_FIELDS = (
    "name",
    "qgisMinimumVersion",
    "qgisMaximumVersion",
    "description",
    "about",
    "version",
    "author",
    "tags",
    "icon",
    "hasProcessingProvider",
    "experimental",
    "deprecated",
    "changelog",
    "license",
)


def read_metadata(text: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    return parser["general"]


def engine_version() -> str:
    from forestgaps_engine.version import __version__

    return __version__


def test_zip_has_one_top_folder_with_the_plugin_layout(plugin_zip: Path) -> None:
    names = zipfile.ZipFile(plugin_zip).namelist()
    assert {name.split("/")[0] for name in names} == {"forestgaps"}
    for required in (
        "forestgaps/__init__.py",
        "forestgaps/metadata.txt",
        "forestgaps/LICENSE",
        "forestgaps/plugin/__init__.py",
        "forestgaps/plugin/deps.py",
        "forestgaps/plugin/processing/provider.py",
        "forestgaps/forestgaps_engine/__init__.py",
        "forestgaps/forestgaps_engine/version.py",
        "forestgaps/configs/defaults.yaml",
        "forestgaps/resources/icons/forestgaps.svg",
        "forestgaps/resources/icons/forestgaps.png",
        "forestgaps/resources/styles/gap_mask.qml",
    ):
        assert required in names, required
    assert names == sorted(names)


def test_zip_holds_no_caches_tests_or_venv(plugin_zip: Path) -> None:
    names = zipfile.ZipFile(plugin_zip).namelist()
    forbidden = [
        name
        for name in names
        if "__pycache__" in name
        or name.endswith((".pyc", ".pyo"))
        or "/tests/" in name
        or "/.venv/" in name
        or ".partial." in name
    ]
    assert forbidden == []
    assert plugin_zip.stat().st_size < 20 * 1024 * 1024


def test_zip_metadata_is_complete_and_carries_the_engine_version(plugin_zip: Path) -> None:
    archive = zipfile.ZipFile(plugin_zip)
    metadata = read_metadata(archive.read("forestgaps/metadata.txt").decode("utf-8"))
    missing = [field for field in REQUIRED_FIELDS if not metadata.get(field, "").strip()]
    assert missing == []
    assert metadata["version"] == engine_version()
    assert metadata["name"] == "ForestGaps"
    assert metadata["qgisMinimumVersion"] == "3.22"
    assert metadata["hasProcessingProvider"] == "yes"
    assert metadata["license"] == "GPL-2.0-or-later"
    assert f"forestgaps/{metadata['icon']}" in archive.namelist()
    license_text = archive.read("forestgaps/LICENSE").decode("utf-8")
    assert "GNU GENERAL PUBLIC LICENSE" in license_text and "Version 2, June 1991" in license_text


def test_top_level_metadata_version_equals_engine_version(repo_root: Path) -> None:
    metadata = read_metadata((repo_root / "metadata.txt").read_text(encoding="utf-8"))
    assert metadata["version"] == engine_version()


def test_zip_init_delegates_to_the_plugin_package(plugin_zip: Path) -> None:
    source = zipfile.ZipFile(plugin_zip).read("forestgaps/__init__.py").decode("utf-8")
    assert "def classFactory(iface)" in source
    assert "from .plugin import classFactory" in source
    assert "import torch" not in source


def test_build_is_reproducible(
    plugin_zip: Path, tmp_path: Path, build_plugin_zip: Callable[[Path], Path]
) -> None:
    again = build_plugin_zip(tmp_path / "again.zip")
    digest = hashlib.sha256(plugin_zip.read_bytes()).hexdigest()
    assert hashlib.sha256(again.read_bytes()).hexdigest() == digest
    info = zipfile.ZipFile(again).infolist()[0]
    assert info.date_time == (1980, 1, 1, 0, 0, 0)


def test_build_fails_clearly_on_incomplete_metadata(tmp_path: Path, build_script: Path) -> None:
    fake_repo = tmp_path / "repo"
    (fake_repo / "forestgaps_engine").mkdir(parents=True)
    (fake_repo / "forestgaps_engine" / "version.py").write_text('__version__ = "9.9.9"\n')
    (fake_repo / "metadata.txt").write_text("[general]\nname=ForestGaps\nversion=0\n")
    result = subprocess.run(
        [
            sys.executable,
            str(build_script),
            "--repo",
            str(fake_repo),
            "--out",
            str(tmp_path / "x.zip"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "metadata.txt" in result.stderr and "qgisMinimumVersion" in result.stderr
    assert not (tmp_path / "x.zip").exists()
