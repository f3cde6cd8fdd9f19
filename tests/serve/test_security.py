"""Who may call the service: loopback Host and Origin by default, a bearer token beyond it,
and no start on a non-loopback interface without a token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.serve import create_app
from tests.serve.conftest import local_client

TOKEN = "s3cret-token-for-tests"


def with_serve(config: ForestGapsConfig, **values: object) -> ForestGapsConfig:
    return config.model_copy(update={"serve": config.serve.model_copy(update=values)})


def post_dsm(client, dsm: Path, **headers: str):  # noqa: ANN001, ANN201 - test helper
    return client.post(
        "/predict",
        files={"file": ("plot.tif", dsm.read_bytes(), "image/tiff")},
        data={"thresholds": "5"},
        headers=headers,
    )


def test_a_web_page_cannot_post_to_the_local_service(client, dsm: Path) -> None:
    # A form on any site open in a browser may post multipart to 127.0.0.1 without a
    # preflight; the browser names the page in Origin.
    response = post_dsm(client, dsm, origin="https://evil.example")
    assert response.status_code == 403, response.text
    assert "evil.example" in response.json()["error"]
    assert post_dsm(client, dsm, origin="null").status_code == 403
    assert post_dsm(client, dsm, origin="http://localhost:8000").status_code == 200


def test_a_rebound_host_name_is_refused(client, dsm: Path) -> None:
    # DNS rebinding: the page's own name now points at 127.0.0.1, so the Host header is it.
    response = post_dsm(client, dsm, host="attacker.example:8000")
    assert response.status_code == 403, response.text
    body = response.json()
    assert "attacker.example" in body["error"] and "--allowed-host" in body["hint"]
    assert client.get("/health", headers={"host": "localhost:8000"}).status_code == 200
    assert client.get("/health", headers={"host": "[::1]:8000"}).status_code == 200


def test_allowed_host_adds_a_name(tiny_model_dir, service_config, dsm: Path) -> None:
    config = with_serve(service_config, allowed_hosts=["gaps.lab.example"])
    with local_client(create_app(tiny_model_dir, config)) as client:
        headers = {"host": "gaps.lab.example", "origin": "https://gaps.lab.example"}
        assert post_dsm(client, dsm, **headers).status_code == 200
        assert post_dsm(client, dsm, host="other.example").status_code == 403


def test_allowed_hosts_come_from_the_environment(
    tiny_model_dir, service_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORESTGAPS_ALLOWED_HOSTS", "gaps.lab.example, 192.0.2.7")
    with local_client(create_app(tiny_model_dir, service_config)) as client:
        assert client.get("/models", headers={"host": "192.0.2.7:8000"}).status_code == 200
        assert client.get("/models", headers={"host": "gaps.lab.example"}).status_code == 200
        assert client.get("/models", headers={"host": "other.example"}).status_code == 403


def test_a_token_is_required_when_configured(tiny_model_dir, service_config, dsm: Path) -> None:
    with local_client(
        create_app(tiny_model_dir, with_serve(service_config, token=TOKEN))
    ) as client:
        missing = post_dsm(client, dsm)
        assert missing.status_code == 401, missing.text
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in missing.json()["hint"]
        assert post_dsm(client, dsm, authorization="Bearer wrong").status_code == 401
        assert client.get("/metrics").status_code == 401
        # Liveness probes (Docker's HEALTHCHECK) carry no token.
        assert client.get("/health").status_code == 200
        ok = post_dsm(client, dsm, authorization=f"Bearer {TOKEN}")
        assert ok.status_code == 200, ok.text
        mask_url = ok.json()["thresholds"][0]["files"]["mask"]
        assert client.get(mask_url).status_code == 401
        assert client.get(mask_url, headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_the_token_comes_from_the_environment(
    tiny_model_dir, service_config, dsm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORESTGAPS_TOKEN", TOKEN)
    with local_client(create_app(tiny_model_dir, service_config)) as client:
        assert post_dsm(client, dsm).status_code == 401
        assert post_dsm(client, dsm, authorization=f"Bearer {TOKEN}").status_code == 200


def run_serve(*flags: str, tmp_path: Path, token: str | None = None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "FORESTGAPS_TOKEN"}
    if token is not None:
        env["FORESTGAPS_TOKEN"] = token
    env["FORESTGAPS_CACHE_DIR"] = str(tmp_path / "cache")
    command = [sys.executable, "-m", "forestgaps_engine.cli.main", "serve", *flags]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_serve_refuses_a_public_interface_without_a_token(host: str, tmp_path: Path) -> None:
    # Port 1 would need root: the refusal must come before any bind.
    done = run_serve("--host", host, "--port", "1", tmp_path=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line or "error" in line]
    assert any(host in line and "token" in line for line in errors), done.stderr
    assert any("FORESTGAPS_TOKEN" in line for line in done.stderr.splitlines())


def test_serve_rejects_an_empty_token(tmp_path: Path) -> None:
    done = run_serve("--host", "0.0.0.0", "--port", "1", tmp_path=tmp_path, token="  ")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "token" in done.stderr
