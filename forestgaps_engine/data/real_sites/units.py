"""Point-cloud units: feet to metres, with the same projection in metres.

A cloud in a CRS whose axes are in feet (EPSG:2903, New Mexico Central, US survey feet)
is scaled to metres in X, Y and Z and given the metric twin of its CRS: the same datum and
projection with metre axes, so the conversion is a pure scaling and nothing is resampled.
"""

from __future__ import annotations

from typing import Any

from forestgaps_engine.errors import CRSMismatchError

# Metres per unit (EPSG 9003, 9002, 9001).
METRES_PER_UNIT = {
    "metre": 1.0,
    "us_survey_foot": 1200.0 / 3937.0,
    "foot": 0.3048,
}
# pyproj's axis unit names -> the config's unit names.
UNIT_NAMES = {
    "metre": "metre",
    "meter": "metre",
    "us survey foot": "us_survey_foot",
    "foot": "foot",
    "foot (international)": "foot",
}


def axis_unit(crs: str | None, source: str) -> str:
    """The config name (``metre``, ``us_survey_foot``, ``foot``) of a CRS's horizontal unit.

    None (no CRS) reads as metres: the caller has already warned that outputs carry none.

    Raises:
        CRSMismatchError: a CRS in degrees or another unit.
    """
    if crs is None:
        return "metre"
    from pyproj import CRS

    parsed = CRS.from_user_input(crs)
    name = parsed.axis_info[0].unit_name.lower() if parsed.axis_info else ""
    if name not in UNIT_NAMES:
        raise CRSMismatchError(
            f"{source}: CRS {parsed.name} has axes in {name or 'no unit'}, not metres or feet",
            hint="Reproject the cloud to a metric CRS first (pdal translate with "
            "filters.reprojection), or set the site's crs.",
        )
    return UNIT_NAMES[name]


def has_metre_axes(crs: str) -> bool:
    """Whether every axis of ``crs`` is in the unit named exactly "metre".

    A custom WKT may spell it "Meter", which the rasterizer's unit check does not accept:
    such a CRS gets its metric twin too.
    """
    from pyproj import CRS

    return all(axis.unit_name == "metre" for axis in CRS.from_user_input(crs).axis_info)


def metric_twin(crs: str) -> str:
    """WKT of ``crs`` with metre axes (same datum and projection).

    Projection parameters carry their own units in WKT2, so only the axes change: a point
    at (x, y) ft lies at (x, y) * metres-per-foot in the twin.
    """
    from pyproj import CRS

    description: dict[str, Any] = CRS.from_user_input(crs).to_json_dict()
    # Two axes: a GeoTIFF stores no projected CRS with a height axis (GDAL drops it silently).
    description["coordinate_system"]["axis"] = description["coordinate_system"]["axis"][:2]
    for axis in description["coordinate_system"]["axis"]:
        axis["unit"] = "metre"
    description["name"] = f"{description['name']} (metres)"
    # The EPSG code names the feet CRS; the twin has none.
    description.pop("id", None)
    return CRS.from_json_dict(description).to_wkt()
