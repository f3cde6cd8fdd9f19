import numpy as np
import onnxruntime
import pytest
import torch

from forestgaps_engine.data.statistics import HeightAccumulator, tile_reference_m
from forestgaps_engine.errors import ConfigError
from forestgaps_engine.models.normalization import Normalizer, tile_reference

# torch.jit.script and the TorchScript ONNX exporter are deprecated but still what exports use.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

STATS = {"mean_m": 320.0, "std_m": 12.0, "relief_range_m": 25.0}


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    dsm = (
        rng.uniform(0, 30, (3, 1, 24, 24)) + np.array([250.0, 800.0, 50.0])[:, None, None, None]
    ).astype(np.float32)
    valid = rng.uniform(size=dsm.shape) > 0.1
    valid[2] = False
    dsm[0, 0, 0, :5] = np.nan
    return torch.from_numpy(dsm), torch.from_numpy(valid)


@pytest.mark.parametrize("strategy", ["minmax_tile", "zscore_global", "robust_percentile"])
def test_state_dict_round_trip_and_invalid_cells(strategy):
    dsm, valid = _batch()
    normalizer = Normalizer(strategy, STATS)
    out = normalizer(dsm, valid)
    assert out.shape == dsm.shape and torch.isfinite(out).all()
    assert torch.all(out[~valid] == 0) and torch.all(out[0, 0, 0, :5] == 0)
    reloaded = Normalizer(strategy)
    reloaded.load_state_dict(normalizer.state_dict())
    assert torch.equal(reloaded(dsm, valid), out)
    rebuilt = Normalizer.from_dict(normalizer.to_dict())
    assert torch.equal(rebuilt(dsm, valid), out)
    scripted = torch.jit.script(normalizer)
    assert torch.allclose(scripted(dsm, valid), out)


def test_robust_percentile_removes_altitude_and_keeps_metres():
    dsm, valid = _batch()
    low = dsm.clone()
    high = dsm.clone() + 500.0
    normalizer = Normalizer("robust_percentile", STATS)
    assert torch.allclose(normalizer(low, valid), normalizer(high, valid), atol=1e-4)
    out = normalizer(dsm, valid)
    # Two valid cells 5 m apart stay 5 / relief_range_m apart.
    v = valid[0, 0] & torch.isfinite(dsm[0, 0])
    idx = torch.nonzero(v)[:2]
    a, b = idx[0], idx[1]
    diff_m = dsm[0, 0, a[0], a[1]] - dsm[0, 0, b[0], b[1]]
    diff_n = out[0, 0, a[0], a[1]] - out[0, 0, b[0], b[1]]
    assert float(diff_n) == pytest.approx(float(diff_m) / 25.0, abs=1e-5)


def test_tile_reference_matches_numpy_rule():
    dsm, valid = _batch()
    finite = valid & torch.isfinite(dsm)
    reference = tile_reference(torch.where(finite, dsm, torch.zeros_like(dsm)), finite)
    for i in range(3):
        expected = tile_reference_m(dsm[i, 0].numpy(), finite[i, 0].numpy())
        assert float(reference[i]) == pytest.approx(expected)


@pytest.mark.parametrize("strategy", ["minmax_tile", "zscore_global", "robust_percentile"])
def test_onnx_export_matches_torch(tmp_path, strategy):
    normalizer = Normalizer(strategy, STATS).eval()
    dsm, valid = _batch()
    path = tmp_path / "normalizer.onnx"
    torch.onnx.export(
        normalizer,
        (dsm, valid.float()),
        str(path),
        input_names=["dsm", "valid"],
        output_names=["normalized"],
        dynamic_axes={"dsm": {0: "b", 2: "h", 3: "w"}, "valid": {0: "b", 2: "h", 3: "w"}},
        opset_version=17,
        dynamo=False,
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    dsm2, valid2 = _batch(seed=5)
    dsm2 = dsm2[:, :, :20, :16].contiguous()
    valid2 = valid2[:, :, :20, :16].contiguous()
    (got,) = session.run(None, {"dsm": dsm2.numpy(), "valid": valid2.float().numpy()})
    expected = normalizer(dsm2, valid2.float()).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_missing_stats_and_unknown_strategy_raise():
    with pytest.raises(ConfigError, match="relief_range_m"):
        Normalizer("robust_percentile", {})
    with pytest.raises(ConfigError, match="minmax"):
        Normalizer("minmax", {})


def test_accumulator_matches_numpy():
    rng = np.random.default_rng(0)
    values = rng.normal(400.0, 15.0, 50_000)
    accumulator = HeightAccumulator(bin_width_m=0.05)
    for chunk in np.array_split(values, 7):
        chunk = chunk.copy()
        chunk[:3] = np.nan
        accumulator.add(chunk)
    finite = np.concatenate([c[3:] for c in np.array_split(values, 7)])
    stats = accumulator.result()
    assert stats.count == finite.size
    assert stats.mean_m == pytest.approx(finite.mean(), rel=1e-12)
    assert stats.std_m == pytest.approx(finite.std(), rel=1e-9)
    assert stats.min_m == finite.min() and stats.max_m == finite.max()
    assert abs(stats.p2_m - np.percentile(finite, 2)) <= 0.05
    assert abs(stats.p98_m - np.percentile(finite, 98)) <= 0.05
