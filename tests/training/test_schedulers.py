import pytest
import torch

from forestgaps_engine.config.training import OptimizerConfig, SchedulerConfig
from forestgaps_engine.training.optim import build_optimizer
from forestgaps_engine.training.schedulers import LrSchedule
from tests.training.tiny import TinyModel


def _curve(name: str, epochs: int = 4, steps: int = 10, **kwargs) -> list[float]:
    model = TinyModel()
    optimizer = build_optimizer(model, OptimizerConfig(lr=0.1))
    schedule = LrSchedule(
        optimizer, SchedulerConfig(name=name, min_lr=1e-4, **kwargs), epochs, steps
    )
    lrs = []
    for _ in range(epochs * steps):
        lrs.append(schedule.current_lrs()[0])
        schedule.step_batch()
    return lrs


def test_onecycle_rises_then_anneals_to_min():
    lrs = _curve("onecycle")
    peak = lrs.index(max(lrs))
    assert lrs[0] == pytest.approx(0.1 / 25, rel=0.2)
    assert max(lrs) == pytest.approx(0.1)
    assert 0 < peak < len(lrs) - 1
    assert all(b <= a + 1e-12 for a, b in zip(lrs[peak:], lrs[peak + 1 :], strict=False))
    assert lrs[-1] < 0.01


def test_warmup_is_linear_then_constant():
    lrs = _curve("constant", warmup_epochs=1)
    warm = lrs[:10]
    steps = [b - a for a, b in zip(warm, warm[1:], strict=False)]
    assert all(step == pytest.approx(steps[0]) for step in steps)
    assert lrs[9] == pytest.approx(0.1)
    assert set(lrs[10:]) == {0.1}


def test_cosine_restarts_jump_back_up():
    lrs = _curve("cosine_restarts", restart_epochs=1)
    assert lrs[0] == pytest.approx(0.1)
    assert lrs[9] < 0.01
    assert lrs[10] == pytest.approx(0.1)


def test_poly_decreases_monotonically():
    lrs = _curve("poly")
    assert all(b < a for a, b in zip(lrs, lrs[1:], strict=False))


def test_plateau_halves_after_patience_and_state_roundtrips():
    model = TinyModel()
    optimizer = build_optimizer(model, OptimizerConfig(lr=0.1))
    config = SchedulerConfig(name="plateau", plateau_patience_epochs=1, plateau_factor=0.5)
    schedule = LrSchedule(optimizer, config, 10, 5, monitor_mode="max")
    for metric in [0.5, 0.4, 0.4]:
        schedule.step_epoch(metric)
    assert schedule.current_lrs()[0] == pytest.approx(0.05)
    other = LrSchedule(build_optimizer(TinyModel(), OptimizerConfig(lr=0.1)), config, 10, 5)
    other.load_state_dict(schedule.state_dict())
    assert other.current_lrs()[0] == pytest.approx(0.05)


def test_no_weight_decay_on_norms_and_biases():
    model = TinyModel()
    optimizer = build_optimizer(model, OptimizerConfig(name="sgd", weight_decay=0.01))
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.defaults["nesterov"]
    decayed = {id(p) for g in optimizer.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    assert id(model.conv1.weight) in decayed
    assert id(model.conv1.bias) not in decayed
    assert id(model.norm.weight) not in decayed
