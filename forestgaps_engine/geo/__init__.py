"""Rasters and vectors on metric grids: CRS checks, I/O, lidar, warping, polygonizing."""
