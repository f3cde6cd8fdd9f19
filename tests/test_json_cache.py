"""The per-machine JSON cache the loader, precision and backend calibrations share."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from forestgaps_engine.files import cache_dir, read_json_mapping, store_in_json_cache


def test_cache_dir_prefers_forestgaps_then_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("FORESTGAPS_CACHE_DIR", raising=False)
    assert cache_dir() == tmp_path / "xdg" / "forestgaps"
    monkeypatch.setenv("FORESTGAPS_CACHE_DIR", str(tmp_path / "own"))
    assert cache_dir() == tmp_path / "own"


def test_entries_add_up_and_unreadable_caches_read_empty(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "choices.json"
    assert read_json_mapping(path) == {}
    store_in_json_cache(path, "cpu-a", {"workers": 2})
    store_in_json_cache(path, "cpu-b", {"workers": 4})
    assert read_json_mapping(path) == {"cpu-a": {"workers": 2}, "cpu-b": {"workers": 4}}
    path.write_text("[1, 2]", "utf-8")  # JSON, but not a mapping of keys
    assert read_json_mapping(path) == {}
    path.write_text("{not json", "utf-8")
    assert read_json_mapping(path) == {}


def test_an_unwritable_cache_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    blocker = tmp_path / "home"
    blocker.write_text("a file where the cache folder should be", "utf-8")
    path = blocker / "forestgaps" / "choices.json"
    with caplog.at_level(logging.WARNING, logger="forestgaps_engine.files"):
        store_in_json_cache(path, "cpu", {"workers": 2})
    assert "cannot write the cache" in caplog.text and str(path) in caplog.text
    assert read_json_mapping(path) == {}
