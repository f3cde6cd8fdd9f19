"""The ``Grid`` value: where a raster's cells lie (CRS, transform, shape)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from affine import Affine


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid.

    Attributes:
        crs: CRS as a string rasterio understands (``"EPSG:2154"`` or WKT), or None when
            the file stores none.
        transform: pixel-to-CRS affine transform.
        height_px: number of rows.
        width_px: number of columns.
    """

    crs: str | None
    transform: Affine
    height_px: int
    width_px: int

    def __post_init__(self) -> None:
        if self.height_px <= 0 or self.width_px <= 0:
            raise ValueError(f"grid shape must be positive, got {self.shape}")

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (self.height_px, self.width_px)

    @property
    def resolution_m(self) -> tuple[float, float]:
        """Cell size (x, y) in CRS units, both positive."""
        return (abs(self.transform.a), abs(self.transform.e))

    @property
    def cell_area_m2(self) -> float:
        """Area of one cell in squared CRS units."""
        res_x, res_y = self.resolution_m
        return res_x * res_y

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in CRS units."""
        left, top = self.transform.c, self.transform.f
        right = left + self.transform.a * self.width_px
        bottom = top + self.transform.e * self.height_px
        return (min(left, right), min(bottom, top), max(left, right), max(bottom, top))

    @classmethod
    def snapped(
        cls, crs: str | None, bounds: tuple[float, float, float, float], resolution_m: float
    ) -> Grid:
        """Return the smallest north-up grid covering ``bounds`` on ``resolution_m`` multiples.

        Edges are whole multiples of ``resolution_m`` so that grids built at one resolution
        line up cell for cell.

        Args:
            crs: CRS of ``bounds`` and of the grid.
            bounds: (left, bottom, right, top) in CRS units.
            resolution_m: square cell size in CRS units, > 0.
        """
        if not resolution_m > 0:
            raise ValueError(f"resolution_m must be positive, got {resolution_m}")
        left, bottom, right, top = bounds
        # The epsilon keeps values already on the lattice (up to float noise) where they are.
        eps = 1e-6
        col_min = math.floor(left / resolution_m + eps)
        col_max = math.ceil(right / resolution_m - eps)
        row_min = math.floor(bottom / resolution_m + eps)
        row_max = math.ceil(top / resolution_m - eps)
        width_px = max(1, col_max - col_min)
        height_px = max(1, row_max - row_min)
        transform = Affine(
            resolution_m, 0.0, col_min * resolution_m, 0.0, -resolution_m, row_max * resolution_m
        )
        return cls(crs, transform, height_px, width_px)

    def same_cells(self, other: Grid, tolerance: float = 1e-6) -> bool:
        """True when ``other`` has the same CRS, shape and (almost) the same transform."""
        return (
            self.crs == other.crs
            and self.shape == other.shape
            and self.transform.almost_equals(other.transform, precision=tolerance)
        )
