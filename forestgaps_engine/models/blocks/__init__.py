"""Building blocks shared by the architectures: conditioning, attention, norms, residuals."""

from forestgaps_engine.models.blocks.activation import ACTIVATION_NAMES, make_activation
from forestgaps_engine.models.blocks.attention import ATTENTION_NAMES, make_attention
from forestgaps_engine.models.blocks.cbam import CBAM
from forestgaps_engine.models.blocks.conv import ConvNormAct, DoubleConv, conv3x3
from forestgaps_engine.models.blocks.drop_path import DropPath, drop_path_rates
from forestgaps_engine.models.blocks.eca import ECA
from forestgaps_engine.models.blocks.efficient_attention import EfficientAttention
from forestgaps_engine.models.blocks.film import FiLM, ThresholdEncoder
from forestgaps_engine.models.blocks.norm import NORM_NAMES, make_norm_factory, resolve_norm
from forestgaps_engine.models.blocks.positional import PositionalChannels
from forestgaps_engine.models.blocks.residual import ResidualBlock

__all__ = [
    "ACTIVATION_NAMES",
    "ATTENTION_NAMES",
    "CBAM",
    "ConvNormAct",
    "DoubleConv",
    "DropPath",
    "ECA",
    "EfficientAttention",
    "FiLM",
    "NORM_NAMES",
    "PositionalChannels",
    "ResidualBlock",
    "ThresholdEncoder",
    "conv3x3",
    "drop_path_rates",
    "make_activation",
    "make_attention",
    "make_norm_factory",
    "resolve_norm",
]
