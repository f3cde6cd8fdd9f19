"""Checks that a raster was written whole before it is renamed into place.

GDAL reports many write failures (a full disk, an I/O error) only through its error
handler, and often only when the file is closed: rasterio 1.3 logs them and the close
returns normally, so a broken file would be renamed over a good one. Writers run inside
``gdal_write_errors_raised``, and the finished file is opened again by ``verify_raster``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from forestgaps_engine.files import OutputWriteError, is_disk_full
from forestgaps_engine.geo.grid import Grid

# rasterio's GDAL error handler logs CE_Failure (class 3) records under this name and text.
_GDAL_LOGGER = "rasterio._env"
_FAILURE_TEXT = "GDAL signalled an error"
_level_lock = threading.Lock()
_n_active = 0
_saved_level = logging.NOTSET


class _FailureCollector(logging.Filter):
    """Keeps the GDAL failures of one thread; drops the records no one asked to see."""

    def __init__(self, thread_id: int, is_quiet: bool) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.is_quiet = is_quiet
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith(_FAILURE_TEXT):
            return True
        if record.thread == self.thread_id:
            self.messages.append(message.removeprefix(_FAILURE_TEXT + ": "))
        return not self.is_quiet


@contextmanager
def gdal_write_errors_raised(path: Path) -> Iterator[None]:
    """Raise ``OutputWriteError`` when GDAL signals a failure while the block writes ``path``.

    The block runs in a ``rasterio.Env`` so that failures at close reach rasterio's
    handler; failures of other threads are not counted (GDAL's handlers are per thread).
    An exception of the block itself wins over the collected messages.
    """
    import rasterio

    global _n_active, _saved_level
    gdal_logger = logging.getLogger(_GDAL_LOGGER)
    with _level_lock:
        # INFO records must be created for the filter to see them; they stay hidden
        # when the logger would not have shown them.
        is_quiet = not gdal_logger.isEnabledFor(logging.INFO)
        if _n_active == 0:
            _saved_level = gdal_logger.level
        _n_active += 1
        if is_quiet:
            gdal_logger.setLevel(logging.INFO)
    collector = _FailureCollector(threading.get_ident(), is_quiet)
    gdal_logger.addFilter(collector)
    try:
        with rasterio.Env():
            yield
    finally:
        gdal_logger.removeFilter(collector)
        with _level_lock:
            _n_active -= 1
            if _n_active == 0:
                gdal_logger.setLevel(_saved_level)
    if collector.messages:
        # A full disk first: it is the cause, the rest are its consequences.
        collector.messages.sort(key=lambda message: not is_disk_full(OSError(message)))
        raise OutputWriteError(
            f"{path.name}: GDAL could not write it: {collector.messages[0]}"
            + (f" (and {len(collector.messages) - 1} more)" if len(collector.messages) > 1 else "")
        )


def verify_raster(path: Path, grid: Grid, dtype: str) -> None:
    """Open ``path`` again and read its first and last blocks (and smallest overview).

    Raises:
        OutputWriteError: the file does not open, has the wrong shape, type or band
            count, or a block does not decode.
    """
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.windows import Window

    try:
        with rasterio.Env(), rasterio.open(path) as dataset:
            found = (dataset.count, dataset.height, dataset.width, dataset.dtypes[0])
            expected = (1, grid.height_px, grid.width_px, dtype)
            if found != expected:
                raise OutputWriteError(
                    f"{path.name}: written as (bands, rows, cols, type) {found}, "
                    f"expected {expected}"
                )
            block_rows, block_cols = dataset.block_shapes[0]
            last_row = (dataset.height - 1) // block_rows * block_rows
            last_col = (dataset.width - 1) // block_cols * block_cols
            dataset.read(1, window=Window(0, 0, min(block_cols, dataset.width),
                                          min(block_rows, dataset.height)))  # fmt: skip
            dataset.read(1, window=Window(last_col, last_row, dataset.width - last_col,
                                          dataset.height - last_row))  # fmt: skip
            overviews = dataset.overviews(1)
            if overviews:
                factor = overviews[-1]
                dataset.read(1, out_shape=(max(1, dataset.height // factor),
                                           max(1, dataset.width // factor)))  # fmt: skip
    except RasterioError as error:
        raise OutputWriteError(f"{path.name}: written file does not read back: {error}") from error
