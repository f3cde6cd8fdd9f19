"""trainmodel, evaluatemodel and exportmodel through processing.run on tiny data."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.training.prepared import write_prepared

TINY_TRAINING = (
    "gaps.thresholds_m=[2, 5]\n"
    "model.name=unet_film; model.params={base_channels: 4, depth: 2}\n"
    "training.epochs=1; training.batch_size=4; training.amp=off\n"
    "training.device=cpu; training.num_workers=0"
)


def test_provider_lists_the_training_algorithms(qgis_processing: None, started_plugin: Any) -> None:
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("forestgaps")
    ids = {algorithm.id() for algorithm in provider.algorithms()}
    assert {"forestgaps:trainmodel", "forestgaps:evaluatemodel", "forestgaps:exportmodel"} <= ids


def test_trainmodel_writes_a_loadable_model_folder(
    qgis_processing: None, started_plugin: Any, tmp_path: Path
) -> None:
    import processing

    prepared = write_prepared(tmp_path / "prepared", n_train=8, n_val=4, size_px=32)
    results = processing.run(
        "forestgaps:trainmodel",
        {
            "PREPARED": str(prepared),
            "OVERRIDES": TINY_TRAINING,
            "OUTPUT_FOLDER": str(tmp_path / "run"),
        },
    )

    model_dir = Path(results["MODEL"])
    assert tmp_path / "run" in model_dir.parents
    card = json.loads((model_dir / "model_card.json").read_text())
    assert card["architecture"] == "unet_film"
    assert card["thresholds_m"] == [2.0, 5.0]
    assert (model_dir / "model.safetensors").is_file()
    assert results["EPOCHS"] == 1


def test_trainmodel_reports_a_missing_prepared_folder_with_a_hint(
    qgis_processing: None, started_plugin: Any, tmp_path: Path
) -> None:
    import processing
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="hint"):
        processing.run(
            "forestgaps:trainmodel",
            {
                "PREPARED": str(tmp_path / "nothing"),
                "OVERRIDES": TINY_TRAINING,
                "OUTPUT_FOLDER": str(tmp_path / "run"),
            },
        )


def test_evaluatemodel_scores_the_model_and_the_baselines(
    qgis_processing: None, started_plugin: Any, site: dict[str, Path], tiny_model: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    import processing

    results = processing.run(
        "forestgaps:evaluatemodel",
        {
            "DSM": str(site["dsm"]), "REFERENCE": str(site["dtm"]), "REFERENCE_KIND": 1,
            "MODEL": str(tiny_model), "THRESHOLDS": "5",
            "OUTPUT_FOLDER": str(tmp_path / "eval"),
        },
    )  # fmt: skip

    assert Path(results["REPORT"]).is_file()
    with Path(results["METRICS"]).open(newline="") as handle:
        methods = {row["method"] for row in csv.DictReader(handle)}
    assert {"model", "dsm_only_baseline", "chm_threshold_baseline"} == methods


def test_evaluatemodel_without_a_model_scores_the_baselines_alone(
    qgis_processing: None, started_plugin: Any, site: dict[str, Path], tmp_path: Path
) -> None:
    import processing

    results = processing.run(
        "forestgaps:evaluatemodel",
        {
            "DSM": str(site["dsm"]), "REFERENCE": str(site["chm"]), "THRESHOLDS": "2, 5",
            "OUTPUT_FOLDER": str(tmp_path / "eval"),
        },
    )  # fmt: skip

    with Path(results["METRICS"]).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["method"] for row in rows} == {"dsm_only_baseline", "chm_threshold_baseline"}
    assert sorted({float(row["threshold_m"]) for row in rows}) == [2.0, 5.0]


def test_exportmodel_writes_a_parity_checked_onnx_file(
    qgis_processing: None, started_plugin: Any, tiny_model: Path, tmp_path: Path
) -> None:
    import processing

    target = tmp_path / "tiny.onnx"
    results = processing.run(
        "forestgaps:exportmodel", {"MODEL": str(tiny_model), "FORMAT": 0, "OUTPUT": str(target)}
    )

    assert Path(results["OUTPUT"]) == target and target.stat().st_size > 0
    assert max(json.loads(results["PARITY"]).values()) <= 1e-4


def test_exportmodel_refuses_a_folder_that_is_not_a_model(
    qgis_processing: None, started_plugin: Any, tmp_path: Path
) -> None:
    import processing
    from qgis.core import QgsProcessingException

    (tmp_path / "empty").mkdir()
    with pytest.raises(QgsProcessingException, match="hint"):
        processing.run(
            "forestgaps:exportmodel",
            {"MODEL": str(tmp_path / "empty"), "FORMAT": 1, "OUTPUT": str(tmp_path / "m.pt")},
        )
