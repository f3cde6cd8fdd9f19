"""Render the user guide's screenshots with a real, offscreen QGIS: ``make screenshots``.

Generates a synthetic forest (DSM, DTM, CHM), fills the ForestGaps dock as a user would
(DSM, DTM as reference, thresholds 5 and 10 m, the bundled default model), presses Run
through the real DetectionRunner/QgsTask, then saves:

* ``dock.png``: the dock after the run (the model card under Model, the log pane's summary);
* ``map_results.png``: the model's gap polygons at the lowest threshold over the CHM.

The run must use the model: a dock saying "No model available", or a run that fell back to
the classic detector, stops the script (exit 1) instead of writing a picture of it. Each
PNG is written beside its target, read back and renamed into place. The synthetic inputs,
the run's outputs and a throwaway QGIS profile live in ``--work`` (default ``out/screenshots``,
emptied first), so the paths the dock shows do not change from one run to the next.

Usage: ``python scripts/screenshots.py --out docs/images [--size 256] [--seed 7] [--work DIR]
[--model DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from qgis.core import (  # noqa: E402 (Qt must see QT_QPA_PLATFORM first)
    QgsApplication,
    QgsColorRampShader,
    QgsMapLayer,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsProject,
    QgsRasterLayer,
    QgsRasterShader,
    QgsSingleBandPseudoColorRenderer,
)
from qgis.gui import QgsMapCanvas, QgsMessageBar  # noqa: E402
from qgis.PyQt.QtCore import QCoreApplication, QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor, QImage  # noqa: E402
from qgis.PyQt.QtWidgets import QMainWindow  # noqa: E402


class ScreenshotIface:
    """The part of QgisInterface the dock and the runner use: canvas, message bar, window."""

    def __init__(self) -> None:
        self.window = QMainWindow()
        self.canvas = QgsMapCanvas(self.window)
        self.bar = QgsMessageBar(self.window)

    def mainWindow(self) -> QMainWindow:  # noqa: N802 (QGIS name)
        return self.window

    def mapCanvas(self) -> QgsMapCanvas:  # noqa: N802 (QGIS name)
        return self.canvas

    def messageBar(self) -> QgsMessageBar:  # noqa: N802 (QGIS name)
        return self.bar


def green_chm(path: Path) -> QgsRasterLayer:
    """The CHM as a light-to-dark green ramp, 0-35 m (gaps read as pale cells)."""
    layer = QgsRasterLayer(str(path), "CHM (synthetic)")
    ramp = QgsColorRampShader(0.0, 35.0)
    ramp.setColorRampType(QgsColorRampShader.Type.Interpolated)
    ramp.setColorRampItemList(
        [
            QgsColorRampShader.ColorRampItem(0.0, QColor("#f7fcf5"), "0 m"),
            QgsColorRampShader.ColorRampItem(10.0, QColor("#a1d99b"), "10 m"),
            QgsColorRampShader.ColorRampItem(20.0, QColor("#41ab5d"), "20 m"),
            QgsColorRampShader.ColorRampItem(35.0, QColor("#00441b"), "35 m"),
        ]
    )
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(ramp)
    layer.setRenderer(QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader))
    return layer


def run_dock(
    iface: ScreenshotIface, site: dict[str, Path], out_dir: Path, model: str = "default"
) -> Any:
    """Fill the dock, press Run, wait for the task; returns (dock, outcome)."""
    from plugin.dock.dock_widget import ForestGapsDock
    from plugin.runner import DetectionRunner

    project = QgsProject.instance()
    dsm = QgsRasterLayer(str(site["dsm"]), "DSM (synthetic)")
    dtm = QgsRasterLayer(str(site["dtm"]), "DTM (synthetic)")
    for layer in (dsm, dtm):
        if not layer.isValid():
            raise SystemExit(f"QGIS cannot open {layer.source()}")
        project.addMapLayer(layer)
    dock = ForestGapsDock(iface)
    dock.dsm_combo.setLayer(dsm)
    dock.reference_combo.setLayer(dtm)
    dock.reference_kind_combo.setCurrentIndex(dock.reference_kind_combo.findData("dtm"))
    dock.thresholds.set_thresholds([5.0, 10.0])
    dock.model_edit.setText(model)
    dock.output_widget.setFilePath(str(out_dir))
    outcomes: list[Any] = []
    runner = DetectionRunner(dock, iface, on_outcome=outcomes.append)
    if dock.request_run() is None:
        raise SystemExit("the dock refused to run: " + dock.log_pane.toPlainText())
    deadline_s = time.monotonic() + 300.0
    while not outcomes and time.monotonic() < deadline_s:
        QCoreApplication.processEvents()
        time.sleep(0.02)
    if not outcomes:
        raise SystemExit("the detection task did not finish within 300 s")
    del runner  # the task is done; the dock keeps its log
    return dock, outcomes[0]


def save_verified(image: QImage, target: Path) -> None:
    """Write ``image`` as PNG beside ``target``, read it back, then rename it into place."""
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".partial.png",
                                         dir=target.parent)  # fmt: skip
    os.close(handle)
    temp_path = Path(temp_name)
    try:
        written = QImage()
        if not image.save(str(temp_path), "PNG") or not written.load(str(temp_path)):
            raise SystemExit(f"cannot write {target}")
        if written.size() != image.size():
            raise SystemExit(f"{target}: wrote {written.size()} instead of {image.size()}")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_path, 0o666 & ~umask)  # mkstemp's 0600 would make docs/images private
        os.replace(temp_path, target)
    finally:
        temp_path.unlink(missing_ok=True)


def check_model_run(dock: Any, outcome: Any) -> None:
    """Stop unless the run succeeded with the model (never picture the fallback)."""
    if outcome.status != "success":
        raise SystemExit(f"detection {outcome.status}: {outcome.message} {outcome.hint}")
    card_text = dock.model_label.text()
    if outcome.result.method != "model" or card_text.startswith("No model"):
        raise SystemExit(
            f"the run used the {outcome.result.method} detector, not the bundled model "
            f"({card_text}); the pictures must show a model run: restore "
            "resources/models/default/ (`make pretrained`) or pass --model DIR"
        )


def save_dock(dock: Any, target: Path) -> None:
    dock.resize(430, 980)
    dock.show()
    for _ in range(20):
        QCoreApplication.processEvents()
    save_verified(dock.grab().toImage(), target)


def save_map(background: QgsMapLayer, target: Path, size_px: int = 900) -> list[str]:
    """Render the lowest threshold's polygons and mask over ``background``."""
    project = QgsProject.instance()
    root = project.layerTreeRoot()
    results = [group for group in root.children() if group.name().startswith("ForestGaps")]
    lowest = results[0].children()[0]
    layers = [
        node.layer() for node in lowest.findLayers() if node.layer().name().startswith("gaps")
    ]
    layers.append(background)
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(background.crs())
    settings.setExtent(background.extent())
    settings.setOutputSize(QSize(size_px, size_px))
    settings.setBackgroundColor(QColor("white"))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    save_verified(job.renderedImage(), target)
    return [layer.name() for layer in layers]


def fresh_work_dir(work_dir: Path) -> Path:
    """``work_dir`` emptied of an earlier run's site, results and profile (created if needed)."""
    for name in ("site", "results", "profile"):
        shutil.rmtree(work_dir / name, ignore_errors=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    return work_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "images")
    parser.add_argument("--size", type=int, default=256, help="synthetic site side, px (1 m)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", default="default", help="model folder (default: bundled)")
    parser.add_argument(
        "--work", type=Path, default=REPO_ROOT / "out" / "screenshots",
        help="folder for the synthetic site, the run's outputs and the QGIS profile",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    work_dir = fresh_work_dir(args.work.resolve())
    app = QgsApplication([], True, str(work_dir / "profile"))
    app.initQgis()
    from forestgaps_engine.synth.forest import generate_forest, write_forest

    site = write_forest(generate_forest(args.size, seed=args.seed), work_dir / "site")
    iface = ScreenshotIface()
    dock, outcome = run_dock(iface, site, work_dir / "results", args.model)
    check_model_run(dock, outcome)
    save_dock(dock, args.out / "dock.png")
    chm = green_chm(site["chm"])
    QgsProject.instance().addMapLayer(chm, False)
    rendered = save_map(chm, args.out / "map_results.png")
    report = {
        "dock": str(args.out / "dock.png"),
        "map": str(args.out / "map_results.png"),
        "method": outcome.result.method,
        "model_card": dock.model_label.text(),
        "log": dock.log_pane.toPlainText(),
        "map_layers": rendered,
        "thresholds": [
            {"threshold_m": item.threshold_m, "n_gaps": item.n_gaps}
            for item in outcome.result.thresholds
        ],
    }
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    dock.deleteLater()
    QgsProject.instance().clear()
    app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
