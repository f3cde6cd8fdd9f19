from pathlib import Path

import pytest
import yaml

from forestgaps_engine.config import ForestGapsConfig, load_config
from forestgaps_engine.config.loader import CONFIG_DIR
from forestgaps_engine.errors import ConfigError


def test_defaults_yaml_matches_schema_defaults():
    written = yaml.safe_load((CONFIG_DIR / "defaults.yaml").read_text())
    assert written == ForestGapsConfig().model_dump(mode="json")


@pytest.mark.parametrize("name", ["defaults.yaml", "quick.yaml", "colab.yaml"])
def test_shipped_configs_validate(name):
    config = load_config(CONFIG_DIR / name)
    assert config.training.epochs >= 1


def test_quick_dataset_is_a_multiple_of_the_batch():
    config = load_config(CONFIG_DIR / "quick.yaml")
    assert config.data.samples_per_shard % config.training.batch_size == 0


def test_typo_in_key_names_file_key_and_suggestion(tmp_path: Path):
    path = tmp_path / "typo.yaml"
    path.write_text("training:\n  optimizer:\n    lrr: 0.01\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert "training.optimizer.lrr" in message
    assert "did you mean 'lr'" in message


def test_out_of_range_value_names_key_value_and_bound(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("training:\n  grad_clip_norm: 7\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "training.grad_clip_norm = 7" in message
    assert "less than or equal to 3" in message


def test_wrong_type_is_reported(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("training:\n  epochs: many\n")
    with pytest.raises(ConfigError, match="training.epochs = 'many'"):
        load_config(path)


def test_overrides_are_typed_and_nested():
    config = load_config(None, ["training.epochs=3", "gaps.thresholds_m=[10, 5]"])
    assert config.training.epochs == 3
    assert config.gaps.thresholds_m == [5.0, 10.0]


def test_malformed_override_is_a_config_error():
    with pytest.raises(ConfigError, match="key.path=value"):
        load_config(None, ["training.epochs"])


def test_missing_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_config_error_is_also_value_error():
    with pytest.raises(ValueError):
        load_config(None, ["training.batch_size=0"])
