"""Synthetic forests: terrain, stands and crowns, gaps and tracks, written as DSM/DTM/CHM."""
