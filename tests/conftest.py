"""Shared fixtures: QGIS availability policy, paths to the real sample data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before pytest-qgis starts its QgsApplication: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FORESTGAPS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def qgis_available() -> bool:
    try:
        import qgis.core  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def require_qgis() -> None:
    """Skip when QGIS is absent, except in CI (FORESTGAPS_REQUIRE_QGIS=1) where it fails."""
    if qgis_available():
        return
    if os.environ.get("FORESTGAPS_REQUIRE_QGIS") == "1":
        pytest.fail("QGIS Python bindings are required (FORESTGAPS_REQUIRE_QGIS=1) but missing")
    pytest.skip("QGIS Python bindings are not installed")


@pytest.fixture
def shared_data() -> Path:
    """The real sample data folder (GPL-3, outside the repo); skip when absent."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"real sample data not found at {SHARED_DATA} (set FORESTGAPS_SHARED_DATA)")
    return SHARED_DATA
