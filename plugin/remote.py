"""The engine's server client over QGIS's network stack (proxy and authentication apply).

The protocol (which fields, which files, their local names) is the engine's
(``forestgaps_engine.detection.remote``); this module only moves bytes, with
``QgsBlockingNetworkRequest`` so the proxy, SSL and authentication settings of QGIS
apply as they do for every QGIS request. Callable on any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from qgis.core import QgsBlockingNetworkRequest, QgsFeedback
from qgis.PyQt.QtCore import Qt, QUrl
from qgis.PyQt.QtNetwork import QNetworkRequest

CANCEL_POLL_S = 0.2
PANEL_SERVER_HINT = (
    "Check that the server runs (forestgaps serve --host … --port …) and the URL in the "
    "ForestGaps panel's Advanced section, or clear the URL to run on this computer."
)
TOKEN_FIELD = "Server token"
# QGIS 3.22 has no auth method that sends "Authorization: Bearer": the token is kept
# (encrypted) in QGIS's authentication database as the password of a Basic
# configuration, or as the token of an EsriToken one, and sent here as a bearer header.
TOKEN_KEYS = {"Basic": "password", "EsriToken": "token"}


def token_hint(where: str) -> str:
    """The fix for a refused token, naming the field ``where`` the user picks it in."""
    return (
        f"In {where}, choose in “{TOKEN_FIELD}” a QGIS authentication configuration of "
        "method Basic whose password is the token the server was started with (forestgaps "
        "serve --token); create one with the green plus beside the list."
    )


PANEL_TOKEN_HINT = token_hint("the ForestGaps panel's Advanced section")


class QgisTransport:
    """Requests through ``QgsBlockingNetworkRequest`` (``authcfg``: a QGIS auth config id)."""

    def __init__(self, authcfg: str = "") -> None:
        self.authcfg = authcfg

    def _run(
        self,
        send: Callable[[QgsBlockingNetworkRequest, QgsFeedback], Any],
        cancel: Callable[[], bool] | None,
        sent: Callable[[int], None] | None = None,
    ) -> Any:
        """``send(request, feedback)``, with ``cancel()`` polled on a helper thread.

        QGIS runs the request on a thread of its own, so the poller's ``feedback.cancel()``
        aborts the reply there even while the server is still working.
        """
        from forestgaps_engine.detection import HttpAnswer, Unreachable
        from forestgaps_engine.errors import CancelledError

        request = QgsBlockingNetworkRequest()
        if self.authcfg:
            request.setAuthCfg(self.authcfg)
        feedback = QgsFeedback()
        if sent is not None:
            # Direct: QGIS emits from its request thread while this one waits in post().
            request.uploadProgress.connect(
                lambda done, _total: sent(int(done)), Qt.ConnectionType.DirectConnection
            )
        finished = threading.Event()

        def poll() -> None:
            while not finished.wait(CANCEL_POLL_S):
                if cancel is not None and cancel():
                    feedback.cancel()
                    return

        poller = threading.Thread(target=poll, name="forestgaps-server-cancel", daemon=True)
        poller.start()
        try:
            code = send(request, feedback)
        finally:
            finished.set()
            poller.join()
        if feedback.isCanceled():
            raise CancelledError("the request to the ForestGaps server was cancelled")
        reply = request.reply()
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
        if status is None:
            raise Unreachable(request.errorMessage() or f"no answer (error {int(code)})")
        reason = reply.attribute(QNetworkRequest.Attribute.HttpReasonPhraseAttribute) or ""
        return HttpAnswer(int(status), bytes(reply.content()), str(reason))

    def post_file(
        self, url: str, fields: Mapping[str, str], file_path: Path, headers: Mapping[str, str],
        sent: Callable[[int], None], cancel: Callable[[], bool] | None,
    ) -> Any:  # fmt: skip
        """``multipart/form-data`` POST; the body is encoded by urllib3 (shipped with QGIS)."""
        from urllib3 import encode_multipart_formdata

        parts: dict[str, Any] = dict(fields)
        parts["file"] = (file_path.name, file_path.read_bytes(), "image/tiff")
        body, content_type = encode_multipart_formdata(parts)
        head_bytes = len(body) - file_path.stat().st_size
        network_request = self._request(url, headers)
        network_request.setHeader(QNetworkRequest.KnownHeaders.ContentTypeHeader, content_type)
        return self._run(
            lambda request, feedback: request.post(network_request, body, True, feedback),
            cancel,
            lambda done: sent(max(done - head_bytes, 0)),
        )

    def download(
        self, url: str, target: Path, headers: Mapping[str, str],
        cancel: Callable[[], bool] | None,
    ) -> Any:  # fmt: skip
        """GET ``url``; a 2xx body is written to ``target``."""
        from forestgaps_engine.detection import HttpAnswer

        network_request = self._request(url, headers)
        answer = self._run(
            lambda request, feedback: request.get(network_request, True, feedback), cancel
        )
        if answer.status >= 300:
            return answer
        target.write_bytes(answer.body)
        return HttpAnswer(answer.status, b"", answer.reason)

    @staticmethod
    def _request(url: str, headers: Mapping[str, str]) -> QNetworkRequest:
        request = QNetworkRequest(QUrl(url))
        for name, value in headers.items():
            request.setRawHeader(name.encode("ascii"), value.encode("utf-8"))
        return request


def token_from_authcfg(authcfg: str) -> str:
    """The bearer token held by QGIS authentication configuration ``authcfg``.

    Raises:
        ConfigError: no such configuration, it cannot be decrypted, or its method holds
            no token (the message names the field and the configuration).
    """
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    from forestgaps_engine.errors import ConfigError

    manager = QgsApplication.authManager()
    config = QgsAuthMethodConfig()
    # full=True decrypts the secrets (QGIS asks for the master password when needed).
    if authcfg not in manager.configIds() or not manager.loadAuthenticationConfig(
        authcfg, config, True
    ):
        raise ConfigError(
            f"“{TOKEN_FIELD}”: QGIS has no readable authentication configuration {authcfg!r}",
            hint="Choose another configuration in the list (Settings > Options > "
            "Authentication lists them), or check QGIS's master password.",
        )
    key = TOKEN_KEYS.get(config.method())
    token = config.config(key, "").strip() if key else ""
    if not token:
        raise ConfigError(
            f"“{TOKEN_FIELD}”: the authentication configuration '{config.name()}' "
            f"({config.method()}) holds no token",
            hint="Edit it as method Basic with the server's token as its password.",
        )
    return token


def qgis_server(
    server_url: str, authcfg: str = "", hint: str = PANEL_SERVER_HINT,
    token_fix: str = PANEL_TOKEN_HINT,
) -> Any:  # fmt: skip
    """The engine's ``RemoteServer`` over QGIS's network, with the token of ``authcfg``.

    Args:
        server_url: the server's base URL.
        authcfg: id of the QGIS authentication configuration holding the token; "": none.
        hint: the fix for an unreachable server, in the face's words.
        token_fix: the fix for a refused token, in the face's words.
    """
    from forestgaps_engine.detection import RemoteServer

    token = token_from_authcfg(authcfg) if authcfg else None
    return RemoteServer(
        server_url, token=token, transport=QgisTransport(), hint=hint, token_hint=token_fix
    )


def panel_server(server_url: str, authcfg: str = "") -> Any:
    """The engine's ``RemoteServer`` for the panel's Server URL and Server token."""
    return qgis_server(server_url, authcfg)


def request_prediction(
    server_url: str,
    dsm_path: Path,
    fields: dict[str, str],
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """``POST {server_url}/predict`` through QGIS; the JSON answer (see the engine's)."""
    from forestgaps_engine.detection.remote import request_prediction as engine_request

    return engine_request(panel_server(server_url), Path(dsm_path), fields, progress, cancel)
