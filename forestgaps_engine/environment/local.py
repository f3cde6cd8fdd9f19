"""A workstation, laptop or server: the base behaviour as is."""

from __future__ import annotations

from forestgaps_engine.environment.base import Environment


class LocalEnvironment(Environment):
    """Local machine: ``out/`` for data and checkpoints, workers up to the core count."""

    name = "local"
