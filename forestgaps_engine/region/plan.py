"""The block plan: processing blocks over the mosaic that ignore tile boundaries.

Model mode keeps the window grid of a single-raster ``predict`` on the whole mosaic
(``inference.windows.tile_rows``): a block's edges fall on window starts, and a block
predicts every window of that global grid touching its cells (plus ``halo_px`` for the
mask clean-up), with the global blending weights. Each of its cells then gets the same
windows, weights and sums, in the same order, as in one piece: the seams between blocks
vanish. Windows across a block edge are predicted by both blocks (one window column and
row per block: the price of independent blocks).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from forestgaps_engine.geo.tiles import Tile
from forestgaps_engine.inference.windows import tile_rows


@dataclass(frozen=True, kw_only=True)
class Block(Tile):
    """One processing block: the cells it owns (its core), in mosaic pixels."""

    block_row: int
    block_col: int

    @property
    def name(self) -> str:
        """File-name key of the block (``r0003_c0012``)."""
        return f"r{self.block_row:04d}_c{self.block_col:04d}"


@dataclass(frozen=True)
class BlockPlan:
    """Blocks of a mosaic and the global window grid they share.

    Attributes:
        height_px, width_px: mosaic shape.
        row_cuts, col_cuts: block edges along each axis (0 first, the length last).
        tile_size_px, overlap_px: model windows (0, 0 in classic mode: no windows).
        halo_px: extra cells each block computes around its core (mask clean-up).
    """

    height_px: int
    width_px: int
    row_cuts: tuple[int, ...]
    col_cuts: tuple[int, ...]
    tile_size_px: int = 0
    overlap_px: int = 0
    halo_px: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        """(block rows, block columns)."""
        return (len(self.row_cuts) - 1, len(self.col_cuts) - 1)

    @property
    def blocks(self) -> list[Block]:
        """Every block, row-major."""
        return [
            Block(top, left, bottom - top, right - left, block_row=i, block_col=j)
            for i, (top, bottom) in enumerate(pairwise(self.row_cuts))
            for j, (left, right) in enumerate(pairwise(self.col_cuts))
        ]

    def window_rows(self) -> list[list[Tile]]:
        """The global window grid (``predict``'s tiles on the whole mosaic)."""
        return tile_rows(self.height_px, self.width_px, self.tile_size_px, self.overlap_px)

    def _grown(self, block: Block) -> Tile:
        """The block's core grown by ``halo_px``, within the mosaic."""
        top, left = max(0, block.row_off - self.halo_px), max(0, block.col_off - self.halo_px)
        bottom = min(self.height_px, block.row_end + self.halo_px)
        right = min(self.width_px, block.col_end + self.halo_px)
        return Tile(top, left, bottom - top, right - left)

    def windows_of(self, block: Block) -> list[list[tuple[int, Tile]]]:
        """Windows touching the block's core grown by ``halo_px``, by window row.

        Returns:
            One list per window row, top to bottom, of (column index in the global row,
            window), left to right: the order ``predict`` adds them in.
        """
        grown = self._grown(block)
        rows = []
        for row in self.window_rows():
            if row[0].row_end <= grown.row_off or row[0].row_off >= grown.row_end:
                continue
            rows.append(
                [(index, tile) for index, tile in enumerate(row)
                 if tile.col_end > grown.col_off and tile.col_off < grown.col_end]
            )  # fmt: skip
        return rows

    def read_window(self, block: Block) -> Tile:
        """The mosaic window a block reads: its windows' union (classic: core + halo)."""
        if not self.tile_size_px:
            return self._grown(block)
        # Every window row holds the same columns: the union spans first to last window.
        rows = self.windows_of(block)
        first, last = rows[0][0][1], rows[-1][-1][1]
        return Tile(first.row_off, first.col_off, last.row_end - first.row_off,
                    last.col_end - first.col_off)  # fmt: skip


def _cuts_on_starts(starts: list[int], length_px: int, per_block: int) -> tuple[int, ...]:
    """Block edges on every ``per_block``-th window start."""
    inner = [starts[index] for index in range(per_block, len(starts), per_block)]
    return tuple([0, *inner, length_px])


def model_plan(
    height_px: int,
    width_px: int,
    block_size_px: int,
    tile_size_px: int,
    overlap_px: int,
    halo_px: int = 0,
) -> BlockPlan:
    """Blocks of about ``block_size_px`` whose edges lie on the global window starts."""
    rows = tile_rows(height_px, width_px, tile_size_px, overlap_px)
    row_starts = [row[0].row_off for row in rows]
    col_starts = [tile.col_off for tile in rows[0]]
    tile_h, tile_w = rows[0][0].height_px, rows[0][0].width_px
    per_row = max(1, block_size_px // max(1, tile_h - overlap_px))
    per_col = max(1, block_size_px // max(1, tile_w - overlap_px))
    return BlockPlan(
        height_px,
        width_px,
        _cuts_on_starts(row_starts, height_px, per_row),
        _cuts_on_starts(col_starts, width_px, per_col),
        tile_size_px,
        overlap_px,
        halo_px,
    )


def classic_plan(height_px: int, width_px: int, block_size_px: int) -> BlockPlan:
    """Blocks of ``block_size_px`` (the classic detector reads no windows)."""
    row_cuts, col_cuts = ((*range(0, n_px, block_size_px), n_px) for n_px in (height_px, width_px))
    return BlockPlan(height_px, width_px, row_cuts, col_cuts)


def block_bytes(plan: BlockPlan, n_thresholds: int) -> int:
    """Peak working memory of one block, bytes (arrays of its read window, not the model).

    Per read cell: float32 heights and bool validity, T float32 sums and probabilities,
    one float32 weight, T uint8 cuts and one int32 label array, with a copy of the
    heights for the model's nodata fill.
    """
    largest = max(plan.blocks, key=lambda block: block.height_px * block.width_px)
    window = plan.read_window(largest)
    n_cells = window.height_px * window.width_px
    return n_cells * (4 + 1 + 4 + 8 * n_thresholds + 4 + n_thresholds + 4)
