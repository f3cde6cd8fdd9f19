"""GET /health, /models, /metrics and POST /augment."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image

from forestgaps_engine.models.card import load_model


def metric(text: str, name: str, **labels: str) -> float:
    """Value of one Prometheus sample (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = rf"^{re.escape(name)}{re.escape('{' + wanted + '}') if wanted else ''} (\S+)$"
    match = re.search(pattern, text, flags=re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_health_reports_the_loaded_model(client, tiny_model_dir: Path) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["model_loaded"] is True
    assert body["model_id"] == load_model(tiny_model_dir).card.model_id


def test_models_lists_the_card(client, tiny_model_dir: Path) -> None:
    (card,) = client.get("/models").json()["models"]
    expected = load_model(tiny_model_dir).card
    assert card["architecture"] == "unet"
    assert card["model_id"] == expected.model_id
    assert card["threshold_range_m"] == [2.0, 20.0]


def test_metrics_count_requests_latency_and_megapixels(client, dsm: Path) -> None:
    before = client.get("/metrics").text
    for _ in range(2):
        response = client.post(
            "/predict", files={"file": ("plot.tif", dsm.read_bytes())}, data={"thresholds": "5"}
        )
        assert response.status_code == 200
    client.post("/predict", files={"file": ("x.tif", b"junk")}, data={"thresholds": "5"})
    client.get("/no-such-page")
    after = client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    ok = {"endpoint": "/predict", "method": "POST", "status": "200"}
    assert (
        metric(text, "forestgaps_requests_total", **ok)
        == metric(before, "forestgaps_requests_total", **ok) + 2
    )
    assert (
        metric(text, "forestgaps_requests_total", endpoint="/predict", method="POST", status="400")
        == 1
    )
    assert (
        metric(text, "forestgaps_requests_total", endpoint="other", method="GET", status="404") == 1
    )
    assert metric(text, "forestgaps_request_duration_seconds_count", endpoint="/predict") == 3
    assert metric(text, "forestgaps_inference_mpix_total") == 2 * 48 * 48 / 1e6
    assert metric(text, "forestgaps_predictions_total", outcome="ok") == 2
    assert metric(text, "forestgaps_predictions_in_progress") == 0


def test_augment_returns_a_png_contact_sheet(client, dsm: Path) -> None:
    response = client.post(
        "/augment",
        files={"file": ("plot.tif", dsm.read_bytes())},
        data={"n_samples": "3", "tile_size_px": "32", "seed": "1"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    # 1 original + 3 samples on one row of 4 columns, 32 px panels with 4 px gutters.
    assert image.format == "PNG"
    assert image.size == (4 * 32 + 3 * 4, 32)
    again = client.post(
        "/augment",
        files={"file": ("plot.tif", dsm.read_bytes())},
        data={"n_samples": "3", "tile_size_px": "32", "seed": "1"},
    )
    assert again.content == response.content


def test_augment_rejects_bad_options(client, dsm: Path) -> None:
    response = client.post(
        "/augment", files={"file": ("plot.tif", dsm.read_bytes())}, data={"n_samples": "99"}
    )
    assert response.status_code == 422
    assert "n_samples" in response.json()["error"]
