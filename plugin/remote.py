"""Gap detection on a ForestGaps server (``forestgaps serve``) instead of this computer.

Pure standard library (no Qt, no torch), callable on the task's worker thread: upload the
DSM to ``POST {url}/predict``, then download every published file into the output folder
under the names local inference writes (``gap_probability_tT.tif``, ``gap_mask_tT.tif``,
``gaps_tT.gpkg``, ``summary.json``), so the layers are built the same way. Every file is
written atomically; on failure or cancel the files already downloaded are removed.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]
CHUNK_BYTES = 1024 * 1024
CONNECT_TIMEOUT_S = 30.0
# The server answers /predict only when the prediction is done; large DSMs take minutes.
PREDICT_TIMEOUT_S = 3600.0
CANCEL_POLL_S = 0.2
SERVER_HINT = (
    "Check that the server runs (forestgaps serve --host … --port …) and the URL in the "
    "ForestGaps panel's Advanced section, or clear the URL to run on this computer."
)


def endpoint(server_url: str, path: str) -> str:
    """``server_url`` (with or without a trailing slash) joined with ``path`` (``/predict``)."""
    return server_url.strip().rstrip("/") + path


def _server_error(url: str, error: BaseException) -> Exception:
    """An InferenceError naming ``url`` for an HTTP error, refusal or timeout."""
    from forestgaps_engine.errors import InferenceError

    if isinstance(error, urllib.error.HTTPError):
        try:
            body = json.loads(error.read().decode("utf-8"))
        except (OSError, ValueError):
            body = {}
        message = body.get("error") if isinstance(body, dict) else None
        hint = body.get("hint") if isinstance(body, dict) else None
        return InferenceError(
            f"ForestGaps server {url} answered HTTP {error.code}: {message or error.reason}",
            hint=hint or SERVER_HINT,
        )
    reason = getattr(error, "reason", error)
    return InferenceError(
        f"cannot reach the ForestGaps server at {url}: {reason}", hint=SERVER_HINT
    )


def _multipart(
    fields: dict[str, str], file_path: Path, cancel: CancelFn | None, sent: list[int]
) -> tuple[str, int, Iterator[bytes]]:
    """(content type, length, body chunks) of a ``multipart/form-data`` upload of one file.

    ``sent[0]`` counts the file bytes handed to the socket (read by the waiting thread).
    """
    boundary = f"forestgaps-{secrets.token_hex(16)}"
    safe_name = "".join("_" if char in '"\r\n' else char for char in file_path.name)
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{safe_name}"\r\nContent-Type: image/tiff\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size_bytes = file_path.stat().st_size

    def chunks() -> Iterator[bytes]:
        from forestgaps_engine.errors import CancelledError

        yield head
        with file_path.open("rb") as source:
            while chunk := source.read(CHUNK_BYTES):
                if cancel is not None and cancel():
                    raise CancelledError("the upload to the ForestGaps server was cancelled")
                yield chunk
                sent[0] += len(chunk)
        yield tail

    length = len(head) + size_bytes + len(tail)
    return f"multipart/form-data; boundary={boundary}", length, chunks()


def _wait(work: Callable[[], Any], cancel: CancelFn | None, tick: Callable[[], None]) -> Any:
    """Run blocking ``work`` on a helper thread, returning early with CancelledError on cancel.

    ``tick()`` runs on the calling thread at every poll (progress stays on the task's
    thread). A cancelled request is abandoned (the server finishes it, its results expire).
    """
    from forestgaps_engine.errors import CancelledError

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
            tick()
            if cancel is not None and cancel():
                raise CancelledError("the request to the ForestGaps server was cancelled") from None
            continue
        if is_ok:
            return value
        raise value


def request_prediction(
    server_url: str,
    dsm_path: Path,
    fields: dict[str, str],
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> dict[str, Any]:
    """``POST {server_url}/predict`` with the DSM and ``fields``; the JSON answer.

    Raises:
        InferenceError: refused, timed out, an HTTP error (its ``error``/``hint``), or an
            answer that is not JSON; the message names the URL.
        CancelledError: ``cancel()`` returned True.
    """
    from forestgaps_engine.errors import InferenceError

    url = endpoint(server_url, "/predict")
    sent = [0]
    content_type, length, body = _multipart(fields, dsm_path, cancel, sent)
    size_bytes = max(dsm_path.stat().st_size, 1)

    def tick() -> None:
        if progress is None:
            return
        if sent[0] < size_bytes:
            progress(0.2 * sent[0] / size_bytes, "uploading the DSM")
        else:
            progress(0.2, "the server is predicting")

    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Content-Length": str(length)},
    )

    def send() -> bytes:
        with urllib.request.urlopen(request, timeout=PREDICT_TIMEOUT_S) as response:  # noqa: S310
            return response.read()

    try:
        raw = _wait(send, cancel, tick)
    except (urllib.error.URLError, OSError) as error:
        raise _server_error(url, error) from error
    try:
        answer = json.loads(raw.decode("utf-8"))
    except ValueError as error:
        raise InferenceError(
            f"ForestGaps server {url} answered something that is not JSON", hint=SERVER_HINT
        ) from error
    if not isinstance(answer, dict) or not isinstance(answer.get("thresholds"), list):
        raise InferenceError(
            f"ForestGaps server {url} answered without a 'thresholds' list", hint=SERVER_HINT
        )
    return answer


def download(url: str, target: Path, cancel: CancelFn | None = None) -> Path:
    """Fetch ``url`` into ``target`` atomically (nothing at ``target`` on failure).

    Raises:
        InferenceError: the download failed (the message names the URL).
        CancelledError: ``cancel()`` returned True.
    """
    from forestgaps_engine.errors import CancelledError
    from forestgaps_engine.files import atomic_path

    try:
        with (
            urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT_S) as response,  # noqa: S310
            atomic_path(target) as temporary,
            open(temporary, "wb") as sink,
        ):
            while chunk := response.read(CHUNK_BYTES):
                if cancel is not None and cancel():
                    raise CancelledError("the download from the ForestGaps server was cancelled")
                sink.write(chunk)
    except (urllib.error.URLError, OSError) as error:
        raise _server_error(url, error) from error
    return target


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _summary_item(item: dict[str, Any], files: dict[float, dict[str, Path]]) -> dict[str, Any]:
    """One threshold of ``summary.json``: the server's figures and the local file names."""
    figures = ("threshold_m", "n_gaps", "total_gap_area_m2", "gap_fraction")
    names = {kind: path.name for kind, path in files[float(item["threshold_m"])].items()}
    return {key: item.get(key) for key in figures} | {"files": names}


def predict_on_server(
    server_url: str,
    dsm_path: Path,
    thresholds_m: tuple[float, ...],
    options: dict[str, Any],
    out_dir: Path,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> tuple[dict[str, Any], dict[float, dict[str, Path]]]:
    """Predict ``dsm_path`` on the server and download the results into ``out_dir``.

    Args:
        server_url: server base URL (``http://host:port``).
        dsm_path: single-band GeoTIFF with a CRS, heights in metres.
        thresholds_m: gap height thresholds, metres.
        options: extra ``/predict`` form fields (``tile_size_px``, ``overlap_px``,
            ``min_gap_area_m2``).
        out_dir: existing output folder.
        progress: ``progress(fraction 0..1, message)``.
        cancel: returns True to stop.

    Returns:
        (the server's JSON answer, threshold -> {"probability", "mask", "gaps"} -> file).

    Raises:
        InferenceError: the server failed or cannot be reached (message names the URL).
        CancelledError: ``cancel()`` returned True; nothing is left in ``out_dir``.
    """
    from forestgaps_engine.files import write_json_atomic
    from forestgaps_engine.inference.api import SUMMARY_FILE, threshold_label

    fields = {"thresholds": ",".join(f"{t:g}" for t in thresholds_m), "geojson_crs": "input"}
    fields.update({name: str(value) for name, value in options.items()})
    answer = request_prediction(server_url, dsm_path, fields, progress, cancel)
    if progress is not None:
        progress(0.6, "downloading the results")
    links = [(item, kind) for item in answer["thresholds"] for kind in ("probability", "mask")]
    links += [(item, "gaps_gpkg") for item in answer["thresholds"]]
    prefixes = {"probability": "gap_probability", "mask": "gap_mask", "gaps_gpkg": "gaps"}
    suffixes = {"probability": ".tif", "mask": ".tif", "gaps_gpkg": ".gpkg"}
    written: list[Path] = []
    files: dict[float, dict[str, Path]] = {}
    try:
        for index, (item, kind) in enumerate(links):
            threshold_m = float(item["threshold_m"])
            # Local names from the threshold, never from the server's link (no path from outside).
            name = f"{prefixes[kind]}_{threshold_label(threshold_m)}{suffixes[kind]}"
            # Links are server paths (/results/…): kept under the base URL's own path prefix.
            url = endpoint(server_url, "/" + str(item["files"][kind]).lstrip("/"))
            if cancel is not None and cancel():
                from forestgaps_engine.errors import CancelledError

                raise CancelledError("the download from the ForestGaps server was cancelled")
            written.append(download(url, out_dir / name, cancel))
            files.setdefault(threshold_m, {})["gaps" if kind == "gaps_gpkg" else kind] = written[-1]
            if progress is not None:
                progress(0.6 + 0.4 * (index + 1) / len(links), f"downloaded {name}")
        summary = dict(answer.get("summary") or {})
        summary.update(
            server_url=server_url,
            job_id=answer.get("job_id"),
            thresholds=[_summary_item(item, files) for item in answer["thresholds"]],
            warnings=answer.get("warnings", []),
        )
        written.append(write_json_atomic(out_dir / SUMMARY_FILE, summary))
    except (KeyError, TypeError, ValueError) as error:
        _remove(written)
        from forestgaps_engine.errors import InferenceError

        raise InferenceError(
            f"ForestGaps server {server_url} answered /predict without the expected fields "
            f"({type(error).__name__}: {error})",
            hint="Check that the URL points to a ForestGaps server of this version.",
        ) from error
    except BaseException:
        _remove(written)
        raise
    return answer, files
