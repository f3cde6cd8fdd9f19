"""The single place the ForestGaps version is defined (engine, CLI, plugin metadata)."""

__version__ = "0.1.0"
