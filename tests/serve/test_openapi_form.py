"""The documented /predict form lists every field the service accepts, with its type."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from forestgaps_engine.serve.app import PREDICT_FORM  # noqa: E402
from forestgaps_engine.serve.prediction import PREDICT_FIELDS  # noqa: E402


def test_predict_form_documents_every_accepted_field() -> None:
    schema = PREDICT_FORM["requestBody"]["content"]["multipart/form-data"]["schema"]
    properties = schema["properties"]
    assert set(properties) == {"file", *PREDICT_FIELDS}
    assert properties["tile_size_px"]["type"] == "integer"
    assert properties["max_gap_area_m2"]["type"] == "number"
    assert schema["required"] == ["file"]
