"""Validated configuration: one pydantic section per concern, loaded from YAML."""

from forestgaps_engine.config.loader import apply_overrides, load_config, parse_override
from forestgaps_engine.config.root import ForestGapsConfig

__all__ = ["ForestGapsConfig", "apply_overrides", "load_config", "parse_override"]
