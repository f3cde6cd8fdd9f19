"""Synthetic forests: terrain, stands and crowns, gaps and tracks, written as DSM/DTM/CHM."""

from forestgaps_engine.synth.forest import (
    SyntheticForest,
    generate_forest,
    write_forest,
    write_synthetic_site,
)

__all__ = ["SyntheticForest", "generate_forest", "write_forest", "write_synthetic_site"]
