"""The one config tree: a section per concern."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from forestgaps_engine.config.base import StrictModel
from forestgaps_engine.config.data import DataConfig
from forestgaps_engine.config.gaps import GapsConfig
from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.config.model import ModelConfig
from forestgaps_engine.config.serve import ServeConfig
from forestgaps_engine.config.synth import SynthConfig
from forestgaps_engine.config.training import TrainingConfig


class ForestGapsConfig(StrictModel):
    """Root of every ForestGaps configuration file."""

    synth: SynthConfig = Field(default_factory=SynthConfig)
    gaps: GapsConfig = Field(default_factory=GapsConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    inference: InferenceConfig = Field(default_factory=InferenceConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)

    def updated(self, **sections: Mapping[str, Any]) -> ForestGapsConfig:
        """A copy with some fields of some sections replaced.

        ``config.updated(training={"output_dir": "run1"})``: the other fields and sections
        are kept (``model_copy``: the values given are trusted, not validated again).
        """
        return self.model_copy(update={name: getattr(self, name).model_copy(update=dict(fields))
                                       for name, fields in sections.items()})  # fmt: skip
