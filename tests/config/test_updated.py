"""ForestGapsConfig.updated replaces the fields named and keeps every other value."""

from __future__ import annotations

from forestgaps_engine.config import ForestGapsConfig


def test_updated_replaces_only_the_fields_named() -> None:
    config = ForestGapsConfig()
    changed = config.updated(training={"output_dir": "run1", "epochs": 3}, synth={"seed": 7})
    assert (changed.training.output_dir, changed.training.epochs) == ("run1", 3)
    assert changed.synth.seed == 7
    assert changed.training.batch_size == config.training.batch_size
    assert changed.synth.size_px == config.synth.size_px
    assert changed.model == config.model and changed.data == config.data
    assert (config.training.output_dir, config.synth.seed) != ("run1", 7)  # the original kept
