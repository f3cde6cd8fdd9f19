"""Constants and helpers shared by the plugin tests (imported by conftest and tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build_plugin.py"
PLUGIN_NAME = "forestgaps"


def build_zip(out: Path) -> Path:
    """Run the real build script (as `make plugin` does) and return the zip path."""
    subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out
