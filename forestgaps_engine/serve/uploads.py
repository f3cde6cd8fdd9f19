"""Multipart uploads streamed straight into a private folder, with a size limit.

The body is parsed as it arrives (python-multipart's push parser): file parts go to files
in the request's own folder, never to a shared temp directory or to memory, and the
request is refused with 413 as soon as its body passes the limit, so a client cannot fill
the disk or the memory by announcing a small body and sending a large one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from forestgaps_engine.serve.errors import ServiceError

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 32
MAX_NAME_CHARS = 120
FORM_HINT = "Send multipart/form-data, e.g. curl -F file=@dsm.tif -F thresholds=5,10 URL."


@dataclass(frozen=True)
class UploadedFile:
    """One file part, on disk.

    Attributes:
        path: where it was written (private; never shown to the client).
        name: the client's file name, reduced to a safe base name (for messages).
        size_bytes: its size.
    """

    path: Path
    name: str
    size_bytes: int


@dataclass
class UploadedForm:
    """Text fields and file parts of one request (first value wins per name)."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)


def safe_file_name(raw: str | None) -> str:
    """The base name of a client file name, printable and short; ``upload`` when empty."""
    base = re.split(r"[\\/]", raw or "")[-1]
    cleaned = re.sub(r"[^\w.\- ]", "_", base).strip(" .")[:MAX_NAME_CHARS]
    return cleaned or "upload"


def refuse_unknown_fields(fields: Iterable[str], accepted: Iterable[str]) -> None:
    """Raise a 422 naming every text field not in ``accepted`` (and what is accepted)."""
    unknown = ", ".join(repr(name) for name in sorted(set(fields) - set(accepted)))
    if unknown:
        raise ServiceError(422, f"unknown form field(s) {unknown}",
                           f"Accepted fields: file, {', '.join(accepted)}.")  # fmt: skip


def too_large(max_bytes: int) -> ServiceError:
    """The 413 answer for a body over ``max_bytes``."""
    return ServiceError(
        413,
        f"request body larger than the {max_bytes / 2**20:g} MiB upload limit",
        "Upload a smaller raster (clip or compress it), or raise serve.max_upload_mb.",
    )


class _PartCollector:
    """Callbacks of the push parser: headers, then data to a file or a field buffer."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.form = UploadedForm()
        self.n_parts = 0
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._field_name: str | None = None
        self._file_name: str | None = None
        self._field_data = bytearray()
        self._file: BinaryIO | None = None
        self._file_size = 0
        self._file_path: Path | None = None

    def callbacks(self) -> dict[str, Any]:
        """The ``on_*`` methods, named as the parser names its callbacks."""
        return {name: getattr(self, name) for name in dir(self) if name.startswith("on_")}

    def on_part_begin(self) -> None:
        self.n_parts += 1
        if self.n_parts > MAX_PARTS:
            raise ServiceError(400, f"more than {MAX_PARTS} form parts", FORM_HINT)
        self._headers = {}
        self._field_data = bytearray()
        self._field_name = self._file_name = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        _kind, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name")
        if name is None:
            raise ServiceError(400, "a form part has no name", FORM_HINT)
        self._field_name = name.decode("utf-8", "replace")
        if b"filename" in options:
            self._file_name = safe_file_name(options[b"filename"].decode("utf-8", "replace"))
            self._file_path = self.folder / f"part{self.n_parts}.bin"
            self._file = open(self._file_path, "wb")  # noqa: SIM115 - closed in on_part_end/close
            self._file_size = 0

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self._file.write(data[start:end])
            self._file_size += end - start
            return
        self._field_data += data[start:end]
        if len(self._field_data) > MAX_FIELD_BYTES:
            raise ServiceError(
                400,
                f"form field {self._field_name!r} is longer than {MAX_FIELD_BYTES} bytes",
                "Text fields hold short values such as thresholds=5,10.",
            )

    def on_part_end(self) -> None:
        name = self._field_name or ""
        if self._file is not None and self._file_path is not None:
            self._file.close()
            self._file = None
            self.form.files.setdefault(
                name, UploadedFile(self._file_path, self._file_name or "upload", self._file_size)
            )
        else:
            self.form.fields.setdefault(name, self._field_data.decode("utf-8", "replace"))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


async def receive_form(request: Any, folder: Path, max_bytes: int) -> UploadedForm:
    """Stream a multipart request body into ``folder``.

    Args:
        request: the Starlette request.
        folder: private, existing folder for this request's files (the caller removes it).
        max_bytes: largest accepted body.

    Returns:
        The text fields and the files written.

    Raises:
        ServiceError: 413 over the limit, 400 when the body is not multipart/form-data.
    """
    from python_multipart.exceptions import MultipartParseError
    from python_multipart.multipart import MultipartParser, parse_options_header

    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise ServiceError(
            400, f"expected a multipart/form-data body, got {kind.decode() or 'none'!r}", FORM_HINT
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise too_large(max_bytes)
    collector = _PartCollector(folder)
    parser = MultipartParser(boundary, collector.callbacks())
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise too_large(max_bytes)
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as error:
        raise ServiceError(400, f"malformed multipart body ({error})", FORM_HINT) from error
    finally:
        collector.close()
    return collector.form
