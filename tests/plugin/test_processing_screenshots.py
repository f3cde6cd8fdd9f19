"""scripts/screenshots.py (``make screenshots``): the user guide's pictures of a model run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "screenshots.py"


def run_script(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path / "images"),
         "--work", str(tmp_path / "work"), "--size", "64", *arguments],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip


@pytest.mark.slow
def test_screenshots_show_the_bundled_model_at_work(require_qgis: None, tmp_path: Path) -> None:
    from qgis.PyQt.QtGui import QImage

    run = run_script(tmp_path)

    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    card = json.loads((REPO_ROOT / "resources/models/default/model_card.json").read_text())
    assert report["method"] == "model"
    assert report["model_card"].startswith(card["architecture"])
    assert "No model" not in report["model_card"] + report["log"]
    assert "Gaps (model)" in report["log"]
    assert [item["threshold_m"] for item in report["thresholds"]] == [5.0, 10.0]
    for name, minimum_px in (("dock.png", 400), ("map_results.png", 900)):
        image = QImage(str(tmp_path / "images" / name))
        assert not image.isNull() and image.width() >= minimum_px, name
    assert sorted(path.name for path in (tmp_path / "images").iterdir()) == [
        "dock.png", "map_results.png",
    ]  # fmt: skip


@pytest.mark.slow
def test_screenshots_refuse_to_picture_a_run_without_the_model(
    require_qgis: None, tmp_path: Path
) -> None:
    run = run_script(tmp_path, "--model", str(tmp_path / "no_model"))

    assert run.returncode == 1
    assert "the run used the classic detector, not the bundled model" in run.stderr
    assert list((tmp_path / "images").iterdir()) == []
