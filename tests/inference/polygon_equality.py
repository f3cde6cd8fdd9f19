"""GeoPackage gap layers compared feature by feature, polygons up to their vertex order."""

from __future__ import annotations

from pathlib import Path


def _canonical_ring(points: list[tuple[float, ...]]) -> tuple:
    ring = [tuple(point[:2]) for point in points[:-1]]
    start = ring.index(min(ring))
    forward = ring[start:] + ring[:start]
    backward = [forward[0], *reversed(forward[1:])]
    return tuple(min(forward, backward))


def canonical_geometry(geometry: object) -> tuple:
    """A MultiPolygon up to the order of its parts, holes and vertices (not their number)."""
    polygons = []
    for index in range(geometry.GetGeometryCount()):
        polygon = geometry.GetGeometryRef(index)
        rings = [
            _canonical_ring(polygon.GetGeometryRef(i).GetPoints())
            for i in range(polygon.GetGeometryCount())
        ]
        polygons.append((rings[0], tuple(sorted(rings[1:]))))
    return tuple(sorted(polygons))


def layer_features(path: Path, layer_name: str = "gaps") -> list[tuple]:
    """``(fid, field values, canonical geometry)`` of each feature, in fid order.

    ``perimeter_m`` is rounded to 1e-9: a sum of the same sides in another order.
    """
    from osgeo import ogr

    dataset = ogr.Open(str(path))
    layer = dataset.GetLayerByName(layer_name)
    definition = layer.GetLayerDefn()
    names = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
    rows = []
    for feature in layer:
        geometry = feature.GetGeometryRef()
        assert geometry.IsValid(), feature.GetFID()
        values = tuple(
            round(feature.GetField(name), 9) if name == "perimeter_m" else feature.GetField(name)
            for name in names
        )
        rows.append((feature.GetFID(), values, canonical_geometry(geometry)))
    return sorted(rows)
