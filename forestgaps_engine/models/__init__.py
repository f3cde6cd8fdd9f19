"""Model zoo: every architecture registers itself; build one with ``create(name, **params)``.

Contract shared with training, inference and export: ``model(dsm (B,1,H,W) normalised,
threshold_m (B*K,) metres) -> logits (B*K,1,H,W)`` for any H, W (K thresholds per
window, window-major); ``model.name`` and
``model.config`` (validated pydantic params) rebuild it with ``create(name, **config)``.
"""

from forestgaps_engine.models import (  # noqa: F401 - imported to register the architectures
    deeplabv3plus,
    fast_scnn,
    mobile_unet,
    unet,
    unet_cbam,
    unet_film,
    unet_film_cbam,
    unet_film_relief,
)
from forestgaps_engine.models.base import CommonParams, FiLMParams, SegmentationModel
from forestgaps_engine.models.registry import (
    ModelSpec,
    available_models,
    create,
    get_spec,
    register,
    validate_params,
)
from forestgaps_engine.models.summary import ModelInfo, model_info

__all__ = [
    "CommonParams",
    "FiLMParams",
    "ModelInfo",
    "ModelSpec",
    "SegmentationModel",
    "available_models",
    "create",
    "get_spec",
    "model_info",
    "register",
    "validate_params",
]
