"""The strict pydantic base shared by every config section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors, values are validated on assignment, defaults too."""

    model_config = ConfigDict(extra="forbid", validate_default=True, validate_assignment=True)
