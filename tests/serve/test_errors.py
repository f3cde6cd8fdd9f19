"""Bad input answers 4xx JSON {error, hint}; limits; no server path ever leaves the service."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forestgaps_engine.errors import ModelError
from forestgaps_engine.serve import create_app
from tests.serve.conftest import local_client, write_dsm


def post(client, content: bytes, name: str = "plot.tif", **fields: str):  # noqa: ANN001, ANN201
    return client.post("/predict", files={"file": (name, content, "image/tiff")}, data=fields)


def assert_json_error(response, status: int, *words: str) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "hint"}
    for word in words:
        assert word in body["error"]
    assert body["hint"]
    return body


def test_not_a_raster_is_400_naming_the_uploaded_file(client) -> None:
    body = assert_json_error(post(client, b"hello, not a raster", "notes.tif", thresholds="5"), 400)
    assert body["error"].startswith("notes.tif: not a readable raster")


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_a_png_is_not_a_geotiff(client) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(buffer, format="PNG")
    assert_json_error(
        post(client, buffer.getvalue(), "dsm.png", thresholds="5"), 400, "not a GeoTIFF"
    )


def test_no_crs_is_400(client, tmp_path: Path) -> None:
    path = write_dsm(tmp_path / "nocrs.tif", crs=None)
    assert_json_error(post(client, path.read_bytes(), thresholds="5"), 400, "no CRS")


def test_multi_band_is_400(client, tmp_path: Path) -> None:
    path = write_dsm(tmp_path / "rgb.tif", count=3)
    assert_json_error(post(client, path.read_bytes(), thresholds="5"), 400, "3 bands")


@pytest.mark.parametrize(
    ("thresholds", "words"),
    [("", "empty"), ("abc", "not a number"), ("5,-1", "not a positive"), ("0", "not a positive")],
)
def test_bad_thresholds_are_422(client, dsm: Path, thresholds: str, words: str) -> None:
    assert_json_error(post(client, dsm.read_bytes(), thresholds=thresholds), 422, words)


def test_missing_fields_are_422(client, dsm: Path) -> None:
    assert_json_error(post(client, dsm.read_bytes()), 422, "'thresholds' is missing")
    response = client.post("/predict", data={"thresholds": "5"}, files={"other": ("a", b"x")})
    assert_json_error(response, 422, "'file' is missing")
    assert_json_error(client.post("/predict", data={"thresholds": "5"}), 400, "multipart")


def test_bad_options_are_422(client, dsm: Path) -> None:
    response = post(client, dsm.read_bytes(), thresholds="5", tile_size_px="64", overlap_px="40")
    assert_json_error(response, 422, "overlap_px")
    response = post(client, dsm.read_bytes(), thresholds="5", tile="64")
    assert_json_error(response, 422, "unknown form field")


def test_upload_over_the_limit_is_413(client) -> None:
    too_big = b"\0" * (int(1.0 * 2**20) + 1024)
    assert_json_error(post(client, too_big, thresholds="5"), 413, "upload limit")


def test_streamed_body_over_the_limit_is_413_without_content_length(client) -> None:
    boundary = "forestgapsboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.tif"\r\n'
        "Content-Type: image/tiff\r\n\r\n"
    ).encode()

    def body():  # noqa: ANN202 - a generator: httpx sends it chunked, with no length
        yield head
        for _ in range(40):
            yield b"\0" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/predict",
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "content-length" not in response.request.headers
    assert_json_error(response, 413, "upload limit")


def test_raster_over_the_pixel_limit_is_413(tiny_model_dir, service_config, dsm: Path) -> None:
    config = service_config.model_copy(
        update={"serve": service_config.serve.model_copy(update={"max_input_mpix": 0.001})}
    )
    with local_client(create_app(tiny_model_dir, config)) as client:
        assert_json_error(post(client, dsm.read_bytes(), thresholds="5"), 413, "MPix")


def test_results_cannot_name_server_files(client) -> None:
    assert_json_error(client.get("/results/abc/gap_mask_t5.tif"), 404, "no such result")
    for url in ("/results/abc/..%2F..%2Fetc%2Fpasswd", "/results/..%2F/passwd", "/etc/passwd"):
        assert_json_error(client.get(url), 404)


def test_no_server_path_in_any_response(
    client, dsm: Path, tmp_path: Path, tiny_model_dir: Path
) -> None:
    server_root = client.app.state.service.root
    responses = [
        post(client, dsm.read_bytes(), thresholds="5,10"),
        post(client, dsm.read_bytes(), thresholds="5", geojson_crs="input"),
        post(client, b"not a raster", thresholds="5"),
        post(client, write_dsm(tmp_path / "n.tif", crs=None).read_bytes(), thresholds="5"),
        post(client, write_dsm(tmp_path / "m.tif", count=2).read_bytes(), thresholds="5"),
        post(client, dsm.read_bytes(), thresholds="-3"),
        post(client, b"\0" * 2**21, thresholds="5"),
        client.post("/augment", files={"file": ("a.tif", b"junk")}),
        client.get("/health"),
        client.get("/models"),
        client.get("/metrics"),
    ]
    responses.append(client.get(responses[0].json()["thresholds"][0]["files"]["gaps_gpkg"]))
    forbidden = [str(server_root), str(tmp_path), str(tiny_model_dir), "/tmp/"]
    for response in responses:
        text = response.content.decode("latin-1") + str(dict(response.headers))
        for path in forbidden:
            assert path not in text, (response.request.url, path)


def test_temp_files_are_removed_after_each_request_and_at_shutdown(
    tiny_model_dir, service_config, dsm: Path
) -> None:
    with local_client(create_app(tiny_model_dir, service_config)) as client:
        root = client.app.state.service.root
        assert post(client, dsm.read_bytes(), thresholds="5").status_code == 200
        assert post(client, b"junk", thresholds="5").status_code == 400
        assert post(client, b"\0" * 2**21, thresholds="5").status_code == 413
        assert list((root / "requests").iterdir()) == []
        # Only the successful job's published files remain, until expiry or shutdown.
        assert len(list((root / "results").iterdir())) == 1
    assert not root.exists()


def test_results_expire(tiny_model_dir, service_config, dsm: Path) -> None:
    config = service_config.model_copy(
        update={"serve": service_config.serve.model_copy(update={"result_ttl_s": 0.05})}
    )
    with local_client(create_app(tiny_model_dir, config)) as client:
        url = post(client, dsm.read_bytes(), thresholds="5").json()["thresholds"][0]["files"]
        import time

        time.sleep(0.1)
        assert_json_error(client.get(url["mask"]), 404, "expired")
        assert list((client.app.state.service.root / "results").iterdir()) == []


def test_without_a_model_the_service_starts_and_predict_is_503(
    service_config, dsm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forestgaps_engine.models import card

    monkeypatch.setattr(card, "DEFAULT_MODEL_DIR", tmp_path / "no-default-model")
    with local_client(create_app(None, service_config)) as client:
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["model_loaded"] is False
        assert "no model" in health["detail"]
        assert client.get("/models").json() == {"models": []}
        body = assert_json_error(post(client, dsm.read_bytes(), thresholds="5"), 503, "no model")
        assert "--model" in body["hint"]
        assert str(tmp_path) not in str(health) + str(body)


def test_an_explicit_bad_model_fails_at_startup(service_config, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model not found"):
        create_app(tmp_path / "missing-model", service_config)


def test_a_truncated_geotiff_is_400_with_the_reason(client, tmp_path: Path) -> None:
    # Tiled and compressed, as most DSMs are: the header survives, the last tiles do not.
    import rasterio

    path = write_dsm(tmp_path / "whole.tif", size_px=96)
    with rasterio.open(path) as source:
        profile = {**source.profile, "tiled": True, "blockxsize": 32, "blockysize": 32}
        with rasterio.open(tmp_path / "tiled.tif", "w", **profile) as target:
            target.write(source.read())
    content = (tmp_path / "tiled.tif").read_bytes()
    body = assert_json_error(
        post(client, content[: len(content) * 2 // 3], "cut.tif", thresholds="5"), 400
    )
    assert body["error"].startswith("cut.tif: ")
    assert "truncated" in body["error"]
    # Refused before any work: no prediction slot taken, no prediction failed.
    metrics = client.get("/metrics").text
    assert 'forestgaps_predictions_total{outcome="failed"}' not in metrics
