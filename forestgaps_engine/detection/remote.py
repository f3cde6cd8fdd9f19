"""Detection on a ForestGaps server (``forestgaps serve``) instead of this computer.

The protocol lives here once: upload the DSM to ``POST {url}/predict``, then download
every published file into the output folder under the names local inference writes
(``gap_probability_tT.tif``, ``gap_mask_tT.tif``, ``gaps_tT.gpkg``, ``summary.json``).
How bytes travel is a :class:`Transport`: :class:`HttpxTransport` here (httpx streams
the upload), a QGIS one in the plugin (its network stack applies the proxy and
authentication settings). Every file is written atomically; on failure or cancel the
files already downloaded are removed.
"""

from __future__ import annotations

import io
import json
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from forestgaps_engine.errors import CancelledError, DataError, InferenceError, require_package
from forestgaps_engine.progress import CancelCallback, ProgressCallback

CHUNK_BYTES = 1024 * 1024
CONNECT_TIMEOUT_S = 30.0
# The server answers /predict only when the prediction is done; large DSMs take minutes.
PREDICT_TIMEOUT_S = 3600.0
CANCEL_POLL_S = 0.2
SERVER_HINT = (
    "Check that the server runs (forestgaps serve --host … --port …) and its URL, or run "
    "without a server on this computer."
)
# The fix for a 401 on the command line; the plugin names its own fields instead.
TOKEN_HINT = (
    "Give the token the server was started with (forestgaps serve --token): --token TOKEN, "
    "or the environment variable FORESTGAPS_TOKEN."
)
FILE_PREFIXES = {"probability": "gap_probability", "mask": "gap_mask", "gaps_gpkg": "gaps"}
FILE_SUFFIXES = {"probability": ".tif", "mask": ".tif", "gaps_gpkg": ".gpkg"}


class Unreachable(OSError):
    """The transport got no HTTP answer (refused, timed out, name unknown)."""


@dataclass(frozen=True)
class HttpAnswer:
    """An HTTP answer: status code and body (the body of a download is in its file)."""

    status: int
    body: bytes = b""
    reason: str = ""


class Transport(Protocol):
    """How requests reach the server; raises Unreachable or CancelledError."""

    def post_file(
        self,
        url: str,
        fields: Mapping[str, str],
        file_path: Path,
        headers: Mapping[str, str],
        sent: Callable[[int], None],
        cancel: CancelCallback | None,
    ) -> HttpAnswer:
        """``multipart/form-data`` POST of ``fields`` and ``file_path`` as ``file``.

        ``sent(n)`` is told the bytes of the file uploaded so far.
        """
        ...

    def download(
        self, url: str, target: Path, headers: Mapping[str, str], cancel: CancelCallback | None
    ) -> HttpAnswer:
        """GET ``url``; a 2xx body goes into ``target`` (created), others into the answer."""
        ...


@dataclass(frozen=True)
class RemoteServer:
    """A ForestGaps server that runs the model.

    Attributes:
        url: base URL, e.g. ``http://127.0.0.1:8000`` (a trailing slash is fine).
        token: bearer token the server asks for (``forestgaps serve --token``), or None.
        transport: how requests travel; None: :class:`HttpxTransport`.
        hint: the fix for an unreachable server, in the words of the caller's face.
        token_hint: the fix for a refused token (HTTP 401), in the words of the caller's face.
    """

    url: str
    # Kept out of repr: a server shown in a log or a traceback must not show its token.
    token: str | None = field(default=None, repr=False)
    transport: Transport | None = None
    hint: str = SERVER_HINT
    token_hint: str = TOKEN_HINT

    def endpoint(self, path: str) -> str:
        """The base URL joined with ``path`` (``/predict``)."""
        return self.url.strip().rstrip("/") + "/" + path.lstrip("/")

    def headers(self) -> dict[str, str]:
        """Request headers (the bearer token when there is one)."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def wait_cancellable(work: Callable[[], Any], cancel: CancelCallback | None) -> Any:
    """Run blocking ``work`` on a helper thread, returning early with CancelledError on cancel.

    A cancelled request is abandoned (the server finishes it, its results expire).
    """
    answers: queue.Queue = queue.Queue(maxsize=1)

    def target() -> None:
        try:
            answers.put((True, work()))
        except BaseException as error:  # handed to the waiting thread, raised there
            answers.put((False, error))

    threading.Thread(target=target, name="forestgaps-server-request", daemon=True).start()
    while True:
        try:
            is_ok, value = answers.get(timeout=CANCEL_POLL_S)
        except queue.Empty:
            if cancel is not None and cancel():
                raise CancelledError("the request to the ForestGaps server was cancelled") from None
            continue
        if is_ok:
            return value
        raise value


class _CountingFile(io.FileIO):
    """A file httpx reads in chunks (its size from fileno): counts bytes, stops on cancel."""

    def __init__(self, path: Path, sent: Callable[[int], None], cancel: Any) -> None:
        super().__init__(path, "rb")
        self.sent, self.cancel, self.total = sent, cancel, 0

    def read(self, size: int = -1) -> bytes:
        if self.cancel is not None and self.cancel():
            raise CancelledError("the upload to the ForestGaps server was cancelled")
        chunk = super().read(size)
        self.total += len(chunk)
        self.sent(self.total)
        return chunk


class HttpxTransport:
    """Requests with httpx (streamed multipart upload, streamed downloads)."""

    def _client(self) -> Any:
        httpx = require_package("httpx", "talking to a ForestGaps server from here",
                                "pip install httpx (or 'forestgaps[serve]').")  # fmt: skip
        timeout = httpx.Timeout(PREDICT_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        return httpx.Client(timeout=timeout, follow_redirects=True)

    def post_file(
        self, url: str, fields: Mapping[str, str], file_path: Path, headers: Mapping[str, str],
        sent: Callable[[int], None], cancel: CancelCallback | None,
    ) -> HttpAnswer:  # fmt: skip
        """POST ``file_path`` as a multipart form, reporting bytes sent; cancellable."""
        import httpx

        def send() -> HttpAnswer:
            with self._client() as client, _CountingFile(file_path, sent, cancel) as reader:
                files = {"file": (file_path.name, reader, "image/tiff")}
                response = client.post(url, data=dict(fields), files=files, headers=headers)
                return HttpAnswer(response.status_code, response.content, response.reason_phrase)

        try:
            return wait_cancellable(send, cancel)
        except httpx.TransportError as error:
            raise Unreachable(str(error) or type(error).__name__) from error

    def download(
        self, url: str, target: Path, headers: Mapping[str, str], cancel: CancelCallback | None
    ) -> HttpAnswer:
        """Stream ``url`` into ``target``; cancellable."""
        import httpx

        try:
            with self._client() as client, client.stream("GET", url, headers=headers) as response:
                if response.status_code >= 300:
                    return HttpAnswer(response.status_code, response.read(), response.reason_phrase)
                with target.open("wb") as sink:
                    for chunk in response.iter_bytes(CHUNK_BYTES):
                        if cancel is not None and cancel():
                            raise CancelledError(
                                "the download from the ForestGaps server was cancelled"
                            )
                        sink.write(chunk)
                return HttpAnswer(response.status_code, b"", response.reason_phrase)
        except httpx.TransportError as error:
            raise Unreachable(str(error) or type(error).__name__) from error


def answer_error(server: RemoteServer, url: str, answer: HttpAnswer) -> InferenceError:
    """An InferenceError naming ``url`` for an HTTP error answer (its ``error``/``hint``)."""
    try:
        body = json.loads(answer.body.decode("utf-8"))
    except ValueError:
        body = {}
    message = body.get("error") if isinstance(body, dict) else None
    hint = body.get("hint") if isinstance(body, dict) else None
    if answer.status == 401:
        # The server's hint names HTTP headers; the user sets a flag or a QGIS field.
        hint = server.token_hint
    return InferenceError(
        f"ForestGaps server {url} answered HTTP {answer.status}: {message or answer.reason}",
        hint=hint or server.hint,
    )


def exchange(server: RemoteServer, url: str, send: Callable[[], HttpAnswer]) -> HttpAnswer:
    """``send()``'s 2xx answer; no answer or an HTTP error is an InferenceError naming ``url``."""
    try:
        answer = send()
    except Unreachable as error:  # refused, timed out, unknown host
        raise InferenceError(
            f"cannot reach the ForestGaps server at {url}: {error}", hint=server.hint
        ) from error
    if answer.status >= 300:
        raise answer_error(server, url, answer)
    return answer


def request_prediction(
    server: RemoteServer,
    dsm_path: Path,
    fields: Mapping[str, str],
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> dict[str, Any]:
    """``POST {url}/predict`` with the DSM and ``fields``; the JSON answer.

    Raises:
        InferenceError: refused, timed out, an HTTP error (its ``error``/``hint``), or an
            answer that is not JSON; the message names the URL.
        CancelledError: ``cancel()`` returned True.
    """
    url = server.endpoint("/predict")
    size_bytes = max(dsm_path.stat().st_size, 1)

    def sent(n_bytes: int) -> None:
        if progress is None:
            return
        if n_bytes < size_bytes:
            progress(0.2 * n_bytes / size_bytes, "uploading the DSM")
        else:
            progress(0.2, "the server is predicting")

    transport = server.transport or HttpxTransport()
    answer = exchange(server, url, lambda: transport.post_file(
        url, fields, dsm_path, server.headers(), sent, cancel))  # fmt: skip
    try:
        content = json.loads(answer.body.decode("utf-8"))
    except ValueError as error:
        raise InferenceError(
            f"ForestGaps server {url} answered something that is not JSON", hint=server.hint
        ) from error
    if not isinstance(content, dict) or not isinstance(content.get("thresholds"), list):
        raise InferenceError(
            f"ForestGaps server {url} answered without a 'thresholds' list", hint=server.hint
        )
    return content


def download(
    server: RemoteServer, url: str, target: Path, cancel: CancelCallback | None = None
) -> Path:
    """Fetch ``url`` into ``target`` atomically (nothing at ``target`` on failure).

    Raises:
        InferenceError: the download failed (the message names the URL).
        CancelledError: ``cancel()`` returned True.
    """
    from forestgaps_engine.files import atomic_path

    transport = server.transport or HttpxTransport()

    def readable(temporary: Path) -> None:
        """A download GDAL cannot open is refused before it takes the final name."""
        from osgeo import gdal

        gdal.UseExceptions()
        try:
            dataset = gdal.OpenEx(str(temporary))
        except RuntimeError as error:
            raise InferenceError(
                f"ForestGaps server {url} sent a file that GDAL cannot read ({error})",
                hint=server.hint,
            ) from error
        del dataset  # closes it

    check = readable if target.suffix in (".tif", ".gpkg") else None
    with atomic_path(target, verify=check) as temporary:
        exchange(server, url, lambda: transport.download(url, temporary, server.headers(), cancel))
    return target


def geotiff_for_upload(dsm: str, work_dir: Path) -> Path:
    """``dsm`` itself when it is a GeoTIFF, else a GeoTIFF copy (the server takes GeoTIFF only).

    Raises:
        DataError: GDAL cannot write the copy.
    """
    from osgeo import gdal

    gdal.UseExceptions()
    dataset = None
    try:
        dataset = gdal.Open(dsm)
        if dataset.GetDriver().ShortName == "GTiff":
            return Path(dsm)
        target = work_dir / f"{Path(dsm).stem}.tif"
        gdal.Translate(str(target), dataset, format="GTiff", creationOptions=["COMPRESS=DEFLATE"])
    except RuntimeError as error:
        raise DataError(
            f"{dsm}: cannot be written as a GeoTIFF for the server ({error})",
            hint="Save the DSM as a GeoTIFF and run again.",
        ) from error
    finally:
        dataset = None  # closes the file
    return target


def _summary_item(item: dict[str, Any], files: dict[float, dict[str, Path]]) -> dict[str, Any]:
    """One threshold of ``summary.json``: the server's figures and the local file names."""
    figures = ("threshold_m", "n_gaps", "total_gap_area_m2", "gap_fraction")
    names = {kind: path.name for kind, path in files[float(item["threshold_m"])].items()}
    return {key: item.get(key) for key in figures} | {"files": names}


def predict_on_server(
    server: RemoteServer,
    dsm_path: Path,
    thresholds_m: tuple[float, ...],
    options: Mapping[str, Any],
    out_dir: Path,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> tuple[dict[str, Any], dict[float, dict[str, Path]], Path]:
    """Predict ``dsm_path`` on the server and download the results into ``out_dir``.

    Args:
        server: where and how.
        dsm_path: single-band GeoTIFF with a CRS, heights in metres.
        thresholds_m: gap height thresholds, metres.
        options: extra ``/predict`` form fields (``tile_size_px``, ``min_gap_area_m2``...).
        out_dir: existing output folder.
        progress: ``progress(fraction 0..1, message)``.
        cancel: returns True to stop.

    Returns:
        (the server's JSON answer, threshold -> {"probability", "mask", "gaps"} -> file,
        the ``summary.json`` written).

    Raises:
        InferenceError: the server failed or cannot be reached (message names the URL).
        CancelledError: ``cancel()`` returned True; nothing is left in ``out_dir``.
    """
    from forestgaps_engine.files import all_or_nothing, threshold_label, write_json_atomic
    from forestgaps_engine.inference.api import SUMMARY_FILE

    fields = {"thresholds": ",".join(f"{t:g}" for t in thresholds_m), "geojson_crs": "input"}
    fields.update({name: str(value) for name, value in options.items()})
    answer = request_prediction(server, dsm_path, fields, progress, cancel)
    if progress is not None:
        progress(0.6, "downloading the results")
    links = [(item, kind) for item in answer["thresholds"] for kind in ("probability", "mask")]
    links += [(item, "gaps_gpkg") for item in answer["thresholds"]]
    files: dict[float, dict[str, Path]] = {}
    with all_or_nothing(out_dir) as (_out, written):
        try:
            for index, (item, kind) in enumerate(links):
                threshold_m = float(item["threshold_m"])
                # Local names from the threshold, never from the server's link (no path
                # from outside).
                name = f"{FILE_PREFIXES[kind]}_{threshold_label(threshold_m)}{FILE_SUFFIXES[kind]}"
                # Links are server paths (/results/…): kept under the base URL's path prefix.
                url = server.endpoint(str(item["files"][kind]))
                if cancel is not None and cancel():
                    raise CancelledError("the download from the ForestGaps server was cancelled")
                written.append(download(server, url, out_dir / name, cancel))
                local_kind = "gaps" if kind == "gaps_gpkg" else kind
                files.setdefault(threshold_m, {})[local_kind] = written[-1]
                if progress is not None:
                    progress(0.6 + 0.4 * (index + 1) / len(links), f"downloaded {name}")
            summary = dict(answer.get("summary") or {})
            summary.update(
                server_url=server.url,
                job_id=answer.get("job_id"),
                thresholds=[_summary_item(item, files) for item in answer["thresholds"]],
                warnings=answer.get("warnings", []),
            )
            summary_path = write_json_atomic(out_dir / SUMMARY_FILE, summary)
            written.append(summary_path)
        except (KeyError, TypeError, ValueError) as error:
            raise InferenceError(
                f"ForestGaps server {server.url} answered /predict without the expected "
                f"fields ({type(error).__name__}: {error})",
                hint="Check that the URL points to a ForestGaps server of this version.",
            ) from error
    return answer, files, summary_path
