"""CHM = DSM - DTM written as a file: the one place every face computes it.

The subtraction itself is ``geo.warp.chm_from_dsm_dtm`` (negatives clipped to 0, nodata
where either input has none); this module puts both rasters on the DSM's metric grid
first and writes the result atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter


def write_chm(
    dsm_path: str | Path,
    dtm_path: str | Path,
    target: str | Path,
    crs_overrides: Mapping[str, str] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> Path:
    """Write the canopy height model ``DSM - DTM`` (metres above ground) to ``target``.

    Args:
        dsm_path: surface heights, metres.
        dtm_path: ground heights, metres; resampled (bilinear) onto the DSM's grid.
        target: the GeoTIFF to write (float32, nodata -9999).
        crs_overrides: ``{"dsm": crs, "dtm": crs}`` for inputs storing none (or a wrong one).
        progress: ``progress(fraction 0..1, message)``.
        cancel: returns True to stop; nothing is left at ``target``.

    Returns:
        ``target``.

    Raises:
        CRSMismatchError: one raster has a CRS and the other none, or they do not overlap.
        InvalidDataFormatError, EmptyRasterError, DataError: a bad input.
        CancelledError: ``cancel()`` returned True.
    """
    from forestgaps_engine.files import refuse_overwriting_inputs
    from forestgaps_engine.geo.raster_io import HEIGHT_PROFILE, write_array
    from forestgaps_engine.geo.warp import chm_from_dsm_dtm, harmonize

    refuse_overwriting_inputs([dsm_path, dtm_path], [Path(target)])
    reporter = Reporter(progress, cancel)
    reporter.report(0.0, "reading and aligning DSM and DTM")
    bands = harmonize({"dsm": dsm_path, "dtm": dtm_path}, crs_overrides=crs_overrides)
    reporter.report(0.6, "computing DSM - DTM")
    chm = chm_from_dsm_dtm(bands["dsm"], bands["dtm"])
    reporter.check()
    written = write_array(target, chm.values, chm.grid, HEIGHT_PROFILE)
    reporter.report(1.0, "done")
    return Path(written)
