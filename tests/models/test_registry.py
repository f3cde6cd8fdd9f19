"""Registry: creation, validation errors that name the model, the key and the value."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict
from torch import nn

from forestgaps_engine.errors import ModelError
from forestgaps_engine.models import available_models, create, model_info, register
from forestgaps_engine.models.registry import _REGISTRY, validate_params


def test_unknown_model_lists_available_names() -> None:
    with pytest.raises(ModelError) as caught:
        create("unet_9000")
    message = str(caught.value)
    assert "unet_9000" in message
    for name in available_models():
        assert name in message


def test_unknown_parameter_is_named_with_allowed_keys() -> None:
    with pytest.raises(ModelError) as caught:
        create("unet_film", base_chanels=8)
    message = str(caught.value)
    assert "unet_film" in message
    assert "base_chanels" in message
    assert "base_channels" in message  # the allowed keys are listed


def test_out_of_range_value_is_named() -> None:
    with pytest.raises(ModelError) as caught:
        create("unet", base_channels=2)
    message = str(caught.value)
    assert "base_channels" in message and "2" in message and "greater than or equal" in message


def test_bad_choice_is_named() -> None:
    with pytest.raises(ModelError, match="activation"):
        create("mobile_unet", activation="tanhh")


def test_created_model_carries_name_and_validated_config() -> None:
    model = create("unet", base_channels=8, depth=2)
    assert model.name == "unet"
    assert model.config.base_channels == 8
    assert model.config.model_dump()["depth"] == 2


def test_validate_params_without_building() -> None:
    config = validate_params("unet_film", {"base_channels": 8})
    assert config.base_channels == 8


def test_register_rejects_a_second_class_under_one_name() -> None:
    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

    @register("test_dummy_model", description="dummy", config=Params)
    class Dummy(nn.Module):
        def __init__(self, config: Params) -> None:
            super().__init__()

    try:
        assert "test_dummy_model" in available_models()
        with pytest.raises(ModelError, match="registered twice"):

            @register("test_dummy_model", description="dummy", config=Params)
            class Other(nn.Module):
                pass

    finally:
        _REGISTRY.pop("test_dummy_model", None)


def test_model_info_reports_defaults_size_and_flops() -> None:
    info = model_info("mobile_unet")
    assert info.name == "mobile_unet"
    assert info.description
    assert info.default_params["base_channels"] == 24
    assert 0.5e6 <= info.param_count <= 2e6
    assert 0 < info.gflops_per_256_tile < 5
    assert info.to_dict()["param_count"] == info.param_count
