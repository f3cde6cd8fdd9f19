"""GeoJSON of a gap GeoPackage, made by GDAL's ``ogr2ogr`` in a child process.

``ogr2ogr`` reads the layer feature by feature and reprojects whole batches of vertices
through PROJ, so the service's memory does not grow with the number of gaps and the
reprojection costs microseconds a gap (one ``transform_geom`` call per gap cost 3.8 ms).
The output is written beside the GeoPackage under a temporary name and renamed into
place once ``ogr2ogr`` succeeded; the file is then streamed back like any other result.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from forestgaps_engine.serve.errors import ServiceError

logger = logging.getLogger(__name__)

# The engine's layer name (inference.polygons.LAYER_NAME), read without importing torch.
LAYER_NAME = "gaps"
# Data paths set for the Python GDAL/PROJ (a wheel's own) would point the system's
# ogr2ogr at files of another version.
_FOREIGN_DATA_ENV = ("GDAL_DATA", "PROJ_LIB", "PROJ_DATA", "GDAL_DRIVER_PATH")
# At the default gap bound (2 M gaps) a conversion took about 200 s on 2 shared cores
# (1 048 576 gaps: 102 s, 362 MB of GeoJSON, ogr2ogr at 55 MB RSS).
CONVERSION_TIMEOUT_S = 900.0
# One conversion at a time: each is one core's worth of work, and a second request for
# the same file then finds it made.
_CONVERSION_LOCK = threading.Lock()


def make_geojson(
    source: Path, target: Path, to_wgs84: bool, timeout_s: float = CONVERSION_TIMEOUT_S
) -> Path:
    """Write ``target`` (GeoJSON) from the GeoPackage ``source`` unless it exists.

    Raises:
        ServiceError: 501 without ``ogr2ogr``; 404 when the job expired meanwhile; 503 past
            ``timeout_s``; 500 when ``ogr2ogr`` fails (the server log has why).
    """
    executable = shutil.which("ogr2ogr")
    if executable is None:
        raise ServiceError(
            501,
            "GeoJSON is not available on this server (GDAL's ogr2ogr is not installed)",
            "Download the GeoPackage (gaps_gpkg) instead, or install gdal-bin on the server.",
        )
    with _CONVERSION_LOCK:
        if target.is_file():
            return target
        env = {key: value for key, value in os.environ.items() if key not in _FOREIGN_DATA_ENV}
        # ogr2ogr creates its output: a fresh folder beside the target holds it.
        temp_dir = Path(tempfile.mkdtemp(prefix=".geojson-", dir=target.parent))
        temp = temp_dir / target.name
        # RFC 7946 output (WGS 84 longitude, latitude; rings wound as the RFC says), else
        # the layer's own CRS, named in a ``crs`` member.
        reprojection = ["-t_srs", "EPSG:4326", "-lco", "RFC7946=YES"] if to_wgs84 else []
        try:
            done = subprocess.run(
                [executable, "-f", "GeoJSON", *reprojection, str(temp), str(source), LAYER_NAME],
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout_s,
                check=False,
            )
            if not source.is_file():
                # The job expired (and was removed) while ogr2ogr read it.
                raise ServiceError(
                    404,
                    "no such result (expired)",
                    "Results are kept for a limited time; run /predict again.",
                )
            if done.returncode != 0 or not temp.is_file():
                logger.error("ogr2ogr failed (%s): %s", done.returncode, done.stderr.strip())
                raise ServiceError(
                    500,
                    "internal error (the GeoJSON conversion failed)",
                    "This is a bug or a broken GDAL on the server; the server log has the "
                    "details. The GeoPackage (gaps_gpkg) is still available.",
                )
            os.replace(temp, target)
        except subprocess.TimeoutExpired:
            raise ServiceError(
                503,
                f"the GeoJSON conversion took more than {timeout_s:g} s",
                "Download the GeoPackage (gaps_gpkg) instead, or raise min_gap_area_m2.",
            ) from None
        finally:
            shutil.rmtree(temp_dir, ignore_errors=True)
    return target
