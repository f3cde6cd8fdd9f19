import tarfile

import numpy as np
import pytest

from forestgaps_engine.data.shard_reader import count_samples, iter_shard, iter_shards
from forestgaps_engine.data.shards import ShardWriter, mask_field
from forestgaps_engine.errors import InvalidDataFormatError


def _assert_same(a, b):
    assert a.key == b.key
    np.testing.assert_array_equal(a.dsm_m, b.dsm_m)
    assert a.dsm_m.dtype == np.float32
    np.testing.assert_array_equal(a.valid, b.valid)
    assert set(a.masks) == set(b.masks)
    for threshold_m in a.masks:
        np.testing.assert_array_equal(a.masks[threshold_m], b.masks[threshold_m])
    assert {k: v for k, v in b.metadata.items() if k != "thresholds_m"} == a.metadata


def test_round_trip_and_rotation(tmp_path, sample_factory):
    samples = [sample_factory(i) for i in range(7)]
    with ShardWriter(tmp_path, "train", samples_per_shard=3) as writer:
        for sample in samples:
            writer.write(sample)
    shards = writer.shards
    assert [s.path.name for s in shards] == [
        "train-000000.tar",
        "train-000001.tar",
        "train-000002.tar",
    ]
    assert [s.n_samples for s in shards] == [3, 3, 1]
    assert [count_samples(s.path) for s in shards] == [3, 3, 1]
    read = list(iter_shards([s.path for s in shards]))
    assert len(read) == 7
    for original, loaded in zip(samples, read, strict=True):
        _assert_same(original, loaded)
    names = tarfile.open(shards[0].path).getnames()[:6]
    assert names == [
        "tile_00000.dsm.npy",
        "tile_00000.valid.npy",
        "tile_00000.mask_t2.npy",
        "tile_00000.mask_t5.npy",
        "tile_00000.mask_t7p5.npy",
        "tile_00000.json",
    ]
    assert not list(tmp_path.rglob("*.partial*"))


def test_same_samples_give_same_bytes(tmp_path, sample_factory):
    hashes = []
    for name in ("a", "b"):
        with ShardWriter(tmp_path / name, "val", 10) as writer:
            for i in range(4):
                writer.write(sample_factory(i))
        hashes.append(writer.shards[0].sha256)
    assert hashes[0] == hashes[1]


def test_failure_leaves_no_partial_shard(tmp_path, sample_factory):
    with pytest.raises(RuntimeError):
        with ShardWriter(tmp_path, "train", samples_per_shard=2) as writer:
            for i in range(3):
                writer.write(sample_factory(i))
            raise RuntimeError("boom")
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == ["train-000000.tar"]


def test_reader_never_unpickles(tmp_path, sample_factory):
    import io

    path = tmp_path / "evil.tar"
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with tarfile.open(path, "w") as archive:
        sample = sample_factory(0)
        for name, payload in [
            ("k.dsm.npy", buffer.getvalue()),
            ("k.valid.npy", buffer.getvalue()),
            ("k.json", b"{}"),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    assert sample.key
    with pytest.raises(ValueError, match="allow_pickle"):
        list(iter_shard(path))


def test_not_a_tar_is_a_data_error(tmp_path):
    path = tmp_path / "x.tar"
    path.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(InvalidDataFormatError, match="x.tar"):
        list(iter_shard(path))


def test_mask_field_names():
    assert mask_field(5.0) == "mask_t5"
    assert mask_field(7.5) == "mask_t7p5"


def test_other_tar_formats_are_read_through_tarfile(tmp_path, sample_factory):
    import io

    from forestgaps_engine.data.shard_reader import count_samples
    from forestgaps_engine.data.shards import encode_sample

    path = tmp_path / "gnu.tar"
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as archive:
        for index in range(3):
            for name, payload in encode_sample(sample_factory(index)):
                info = tarfile.TarInfo(name)
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
    assert count_samples(path) == 3
    assert [s.key for s in iter_shard(path)] == ["tile_00000", "tile_00001", "tile_00002"]


def test_damaged_header_is_reported(tmp_path, sample_factory):
    with ShardWriter(tmp_path, "train", 4) as writer:
        writer.write(sample_factory(0))
    path = writer.shards[0].path
    data = bytearray(path.read_bytes())
    header = data.index(b"tile_00000.valid.npy")
    damaged = bytearray(data)
    damaged[header + 3] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(InvalidDataFormatError, match="checksum"):
        list(iter_shard(path))
    garbled = bytearray(data)
    garbled[600:640] = b"x" * 40  # inside the first array's npy header
    path.write_bytes(bytes(garbled))
    with pytest.raises(InvalidDataFormatError, match="dsm.npy"):
        list(iter_shard(path))


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_npy_decoding_matches_np_load(version):
    import io

    from forestgaps_engine.data.shard_reader import _load_npy

    for array in (
        np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),
        np.array([[True, False]]),
        np.arange(5, dtype=">i4"),
    ):
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, version=version)
        loaded = _load_npy(buffer.getvalue(), "mem", "k", "x.npy")
        np.testing.assert_array_equal(loaded, array)
        assert loaded.dtype == array.dtype and loaded.flags.writeable
