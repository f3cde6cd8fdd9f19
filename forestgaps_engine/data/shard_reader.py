"""Reading shards front to back: a direct USTAR reader, safe ``.npy`` decoding, samples.

Arrays are decoded without ever unpickling: object dtypes are refused, as with
``np.load(allow_pickle=False)``; headers are parsed by numpy itself and cached.
"""

from __future__ import annotations

import functools
import io
import json
import math
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.data.shards import TERRAIN_PRIOR_FIELD, TileSample, mask_field
from forestgaps_engine.errors import InvalidDataFormatError

_BLOCK = 512
_USTAR_MAGIC = b"ustar\x0000"


def _bad_member(path: Path, name: str) -> InvalidDataFormatError:
    return InvalidDataFormatError(
        f"{path}: unexpected tar member {name!r}",
        hint="Shards hold only <key>.<field> files; run 'forestgaps prepare' again.",
    )


def _iter_ustar(path: Path, handle: Any, with_payload: bool = True) -> Iterator[tuple[str, bytes]]:
    """(name, payload) of each member of a plain USTAR archive (what ShardWriter writes).

    A direct reader: tarfile's general parser costs more than decoding small tiles.
    ``with_payload=False`` seeks over the data and yields empty payloads (names only).
    """
    while True:
        header = handle.read(_BLOCK)
        if len(header) < _BLOCK or header.count(0) == _BLOCK:
            return
        stored = int(header[148:156].rstrip(b"\0 ") or b"0", 8)
        if stored != sum(header[:148]) + 8 * 32 + sum(header[156:]):
            raise InvalidDataFormatError(
                f"{path}: damaged tar header (checksum mismatch)",
                hint="The shard is corrupt; run 'forestgaps prepare' again.",
            )
        name = header[:100].split(b"\0", 1)[0].decode("utf-8")
        prefix = header[345:500].split(b"\0", 1)[0].decode("utf-8")
        if prefix:
            name = f"{prefix}/{name}"
        if header[156:157] not in (b"0", b"\0"):
            raise _bad_member(path, name)
        size = int(header[124:136].rstrip(b"\0 ") or b"0", 8)
        if not with_payload:
            handle.seek(size + (-size % _BLOCK), 1)
            yield name, b""
            continue
        payload = handle.read(size)
        if len(payload) < size:
            raise InvalidDataFormatError(
                f"{path}: truncated tar member {name!r}",
                hint="The shard is incomplete; run 'forestgaps prepare' again.",
            )
        handle.read(-size % _BLOCK)
        yield name, payload


def _iter_tarfile(path: Path, handle: Any) -> Iterator[tuple[str, bytes]]:
    """(name, payload) of each member of any tar (pax, GNU…), through tarfile."""
    with tarfile.open(fileobj=handle, mode="r|") as archive:
        for member in archive:
            if not member.isfile():
                raise _bad_member(path, member.name)
            extracted = archive.extractfile(member)
            assert extracted is not None
            yield member.name, extracted.read()


def iter_shard_members(path: str | Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """Yield (key, {field: bytes}) for each sample of a shard, reading it front to back.

    Raises:
        InvalidDataFormatError: the file is not a tar, or holds a member that is not a
            regular file named ``<key>.<field>``.
    """
    path = Path(path)
    key: str | None = None
    fields: dict[str, bytes] = {}
    try:
        with open(path, "rb", buffering=1 << 20) as handle:
            is_ustar = handle.peek(_BLOCK)[257:265] == _USTAR_MAGIC
            members = _iter_ustar(path, handle) if is_ustar else _iter_tarfile(path, handle)
            for name, payload in members:
                member_key, dot, field_name = name.partition(".")
                if not dot or "/" in name:
                    raise _bad_member(path, name)
                if member_key != key:
                    if key is not None:
                        yield key, fields
                    key, fields = member_key, {}
                fields[field_name] = payload
    except (tarfile.TarError, UnicodeDecodeError, ValueError) as error:
        if isinstance(error, InvalidDataFormatError):
            raise
        raise InvalidDataFormatError(
            f"{path}: not a readable tar shard ({error})",
            hint="The file is damaged or not a shard; run 'forestgaps prepare' again.",
        ) from error
    if key is not None:
        yield key, fields


@functools.lru_cache(maxsize=1024)
def _npy_header(header: bytes) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) of a version 1.0/2.0 ``.npy`` header, parsed by numpy.

    Tiles of one dataset share a handful of headers; parsing each once (numpy 1.24 parses
    a header with the tokenize module, slower than reading the array) doubles read speed.
    """
    handle = io.BytesIO(header)
    major, _ = np.lib.format.read_magic(handle)
    if major == 1:
        return np.lib.format.read_array_header_1_0(handle)
    return np.lib.format.read_array_header_2_0(handle)


def _load_npy(payload: bytes, source: str, key: str, name: str) -> np.ndarray:
    """A ``.npy`` payload as an array; object arrays are refused, as np.load(allow_pickle=False)."""
    try:
        major = payload[6] if payload[:6] == b"\x93NUMPY" else 0
        if major not in (1, 2):
            return np.load(io.BytesIO(payload), allow_pickle=False)
        length_bytes = 2 if major == 1 else 4
        header_end = 8 + length_bytes + int.from_bytes(payload[8 : 8 + length_bytes], "little")
        shape, fortran_order, dtype = _npy_header(payload[:header_end])
        if dtype.hasobject:
            raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
        count = math.prod(shape)
        if len(payload) - header_end < count * dtype.itemsize:
            raise ValueError(f"{len(payload) - header_end} data bytes for shape {shape} {dtype}")
        flat = np.frombuffer(payload, dtype=dtype, count=count, offset=header_end)
        return flat.reshape(shape, order="F" if fortran_order else "C").copy()
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise  # an object array: refused, never unpickled
        raise _damaged(source, key, name, error) from error
    except Exception as error:  # noqa: BLE001 - numpy raises many kinds on garbage
        raise _damaged(source, key, name, error) from error


def _damaged(source: str, key: str, name: str, error: BaseException) -> InvalidDataFormatError:
    return InvalidDataFormatError(
        f"{source}: {key}.{name} cannot be decoded ({type(error).__name__}: {error})",
        hint="The shard is damaged; run 'forestgaps prepare' again.",
    )


def decode_sample(key: str, fields: dict[str, bytes], source: str = "<shard>") -> TileSample:
    """Build a TileSample from its member bytes (the inverse of ``encode_sample``).

    Raises:
        InvalidDataFormatError: a required field is missing.
    """
    missing = [name for name in ("dsm.npy", "valid.npy", "json") if name not in fields]
    if missing:
        raise InvalidDataFormatError(
            f"{source}: sample {key!r} lacks {', '.join(missing)}",
            hint="The shard is incomplete; run 'forestgaps prepare' again.",
        )
    try:
        metadata = json.loads(fields["json"].decode("utf-8"))
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError alike
        raise _damaged(source, key, "json", error) from error
    masks = {}
    for threshold_m in metadata.get("thresholds_m", []):
        name = f"{mask_field(threshold_m)}.npy"
        if name not in fields:
            raise InvalidDataFormatError(
                f"{source}: sample {key!r} lacks {name}",
                hint="The shard is incomplete; run 'forestgaps prepare' again.",
            )
        masks[float(threshold_m)] = _load_npy(fields[name], source, key, name)
    prior_name = f"{TERRAIN_PRIOR_FIELD}.npy"
    return TileSample(
        key=key,
        dsm_m=_load_npy(fields["dsm.npy"], source, key, "dsm.npy"),
        valid=_load_npy(fields["valid.npy"], source, key, "valid.npy").astype(bool),
        masks=masks,
        metadata=metadata,
        terrain_prior_m=(
            _load_npy(fields[prior_name], source, key, prior_name)
            if prior_name in fields
            else None
        ),
    )


def iter_shard(path: str | Path) -> Iterator[TileSample]:
    """Decoded samples of one shard, in order."""
    for key, fields in iter_shard_members(path):
        yield decode_sample(key, fields, source=str(path))


def iter_shards(paths: Iterable[str | Path]) -> Iterator[TileSample]:
    """Decoded samples of several shards, shard after shard."""
    for path in paths:
        yield from iter_shard(path)


def count_samples(path: str | Path) -> int:
    """Number of samples in a shard (reads only the tar headers)."""
    path = Path(path)
    with open(path, "rb") as handle:
        if handle.read(_BLOCK)[257:265] == _USTAR_MAGIC:
            handle.seek(0)
            names = [name for name, _ in _iter_ustar(path, handle, with_payload=False)]
        else:
            with tarfile.open(path, "r:") as archive:
                names = archive.getnames()
    return len({name.partition(".")[0] for name in names})
