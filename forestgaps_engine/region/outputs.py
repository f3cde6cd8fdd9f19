"""The region's outputs: COGs assembled from the blocks, one gap layer over the whole region.

Per threshold T: model ``gap_probability_tT.tif``, classic ``gaps_tT.tif`` (gap ids, as
``gaps-from-chm`` writes them); both ``gap_mask_tT.tif`` (1 gap, 0 not, 255 nodata),
``gaps_tT.gpkg`` (the engine's gap layer writer, R-tree indexed) and ``gaps_tT.parquet``
(GeoParquet of the same features).
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from forestgaps_engine.geo.cog import to_cog
from forestgaps_engine.progress import Reporter
from forestgaps_engine.region.blocks import RegionJob
from forestgaps_engine.region.merge import GlobalGaps

logger = logging.getLogger(__name__)


def block_vrt(job: RegionJob, kind: str, label: str) -> Path:
    """A VRT over every block's ``<kind>_<label>.tif`` (in the work folder)."""
    from osgeo import gdal

    gdal.UseExceptions()
    sources = [str(job.block_dir(block) / f"{kind}_{label}.tif") for block in job.plan.blocks]
    target = Path(job.work_dir) / f"{kind}_{label}.vrt"
    dataset = gdal.BuildVRT(str(target), sources)
    dataset = None  # noqa: F841 - closing writes the VRT
    return target


def output_names(method: str, label: str) -> dict[str, str | None]:
    """File names of one threshold's outputs."""
    raster = f"gap_probability_{label}.tif" if method == "model" else f"gaps_{label}.tif"
    return {
        "probability" if method == "model" else "gap_ids": raster,
        "mask": f"gap_mask_{label}.tif",
        "gaps": f"gaps_{label}.gpkg",
        "gaps_parquet": f"gaps_{label}.parquet",
    }


def write_outputs(
    job: RegionJob, merged: list[GlobalGaps], n_valid_px: int, out: Path, reporter: Reporter
) -> list[dict[str, Any]]:
    """Write every threshold's outputs; returns their summary entries."""
    from forestgaps_engine.inference.polygons import write_gap_polygons
    from forestgaps_engine.inference.postprocess import GapRasters
    from forestgaps_engine.region.geoparquet import gpkg_to_geoparquet

    entries = []
    n = len(job.labels)
    # QGIS's Python may have Dask (Debian's python3-distributed) without pyarrow.
    has_pyarrow = importlib.util.find_spec("pyarrow") is not None
    if not has_pyarrow:
        logger.warning(
            'pyarrow is not installed: no GeoParquet layer (pip install ".[region]"); '
            "the GeoPackage holds the same gaps"
        )
    for index, (threshold, label, gaps) in enumerate(
        zip(job.thresholds_m, job.labels, merged, strict=True)
    ):
        reporter.report(index / n, f"writing the outputs of {threshold:g} m")
        names = output_names(job.method, label)
        ids_vrt = block_vrt(job, "ids", label)
        if job.method == "model":
            to_cog(block_vrt(job, "probability", label), out / names["probability"], "average")
        else:
            to_cog(ids_vrt, out / names["gap_ids"], "nearest")
        to_cog(block_vrt(job, "mask", label), out / names["mask"], "nearest")
        rasters = GapRasters(
            ids_path=ids_vrt, grid=job.grid, area_m2=gaps.area_m2,
            n_valid_px=n_valid_px, n_gap_px=gaps.n_gap_px, statistics=gaps.statistics,
        )  # fmt: skip
        gpkg = write_gap_polygons(out / names["gaps"], rasters, gaps.statistics, threshold)
        if has_pyarrow:
            gpkg_to_geoparquet(gpkg, out / names["gaps_parquet"])
        else:
            names["gaps_parquet"] = None
        entries.append(
            {
                "threshold_m": threshold,
                "n_gaps": gaps.n_gaps,
                "total_gap_area_m2": gaps.n_gap_px * job.grid.cell_area_m2,
                "gap_fraction": gaps.n_gap_px / n_valid_px if n_valid_px else 0.0,
                "files": names,
            }
        )
    return entries
