"""GeoParquet 1.0 of a GeoPackage layer, written with pyarrow.

GDAL 3.6 as Debian ships it has no Parquet driver (``ogrinfo --formats``), so the file is
written per the GeoParquet spec: WKB geometries in ``geometry`` and the ``geo`` metadata
key (encoding, geometry types, PROJJSON CRS, bbox). Features are read and written in
batches, so a region's millions of gaps never sit in memory at once.
"""

from __future__ import annotations

import json
from pathlib import Path

from forestgaps_engine.errors import require_package
from forestgaps_engine.files import atomic_path

BATCH_FEATURES = 65536
GEOPARQUET_VERSION = "1.0.0"


def gpkg_to_geoparquet(gpkg: str | Path, target: str | Path) -> Path:
    """Copy the first layer of ``gpkg`` to ``target`` as GeoParquet, atomically.

    Raises:
        ConfigError: pyarrow is not installed (``pip install ".[region]"``).
    """
    pa = require_package("pyarrow", "writing GeoParquet", 'pip install ".[region]" (or pyarrow).')
    import pyarrow.parquet as pq
    from osgeo import ogr

    ogr.UseExceptions()
    source = ogr.Open(str(gpkg))
    layer = source.GetLayer(0)
    definition = layer.GetLayerDefn()
    names = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
    kinds = [definition.GetFieldDefn(i).GetType() for i in range(definition.GetFieldCount())]
    types = [pa.int64() if kind in (ogr.OFTInteger, ogr.OFTInteger64) else pa.float64()
             if kind == ogr.OFTReal else pa.string() for kind in kinds]  # fmt: skip
    schema = pa.schema([*(pa.field(n, t) for n, t in zip(names, types, strict=True)),
                        pa.field("geometry", pa.binary())])  # fmt: skip
    reference = layer.GetSpatialRef()
    crs = json.loads(reference.ExportToPROJJSON()) if reference is not None else None
    left, right, bottom, top = layer.GetExtent() if layer.GetFeatureCount() else (0, 0, 0, 0)
    geo = {
        "version": GEOPARQUET_VERSION,
        "primary_column": "geometry",
        "columns": {
            "geometry": {
                "encoding": "WKB",
                "geometry_types": ["MultiPolygon"],
                "crs": crs,
                "bbox": [left, bottom, right, top],
            }
        },
    }
    schema = schema.with_metadata({"geo": json.dumps(geo)})
    with atomic_path(target) as temp_path:
        with pq.ParquetWriter(str(temp_path), schema) as writer:
            columns: list[list] = [[] for _ in range(len(names) + 1)]
            for feature in layer:
                for index, name in enumerate(names):
                    columns[index].append(feature.GetField(name))
                geometry = ogr.ForceToMultiPolygon(feature.GetGeometryRef().Clone())
                columns[-1].append(bytes(geometry.ExportToIsoWkb()))
                if len(columns[-1]) >= BATCH_FEATURES:
                    writer.write_table(pa.Table.from_arrays(columns, schema=schema))
                    columns = [[] for _ in range(len(names) + 1)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
    return Path(target)
