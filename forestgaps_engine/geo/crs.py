"""CRS parsing and horizontal unit checks.

ForestGaps works in metres: thresholds (``threshold_m``), areas (``area_m2``) and
resolutions all assume it. A CRS in feet nearly always comes with heights in feet, so it is
rejected rather than silently reprojected; a geographic CRS is accepted (the caller warps it
onto a UTM grid).
"""

from __future__ import annotations

import logging
from typing import Any

from forestgaps_engine.errors import CRSMismatchError

logger = logging.getLogger(__name__)


def crs_string(crs: Any) -> str | None:
    """``"EPSG:n"`` when ``crs`` (a rasterio/pyproj CRS or None) has an EPSG code, else WKT."""
    if crs is None or not crs:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def normalize_crs(user_input: str | None, source: str) -> str | None:
    """Parse a user-given CRS (``"EPSG:2154"``, ``"2154"``, WKT, PROJ string).

    Args:
        user_input: the CRS text, or None.
        source: what the CRS is for (a file name or ``"--crs"``), used in messages.

    Returns:
        ``"EPSG:n"`` (or WKT when there is no EPSG code), None for None.

    Raises:
        CRSMismatchError: the text is not a CRS PROJ knows.
    """
    if user_input is None:
        return None
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    text = str(user_input).strip()
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        parsed = CRS.from_user_input(text)
    except CRSError as error:
        raise CRSMismatchError(
            f"{source}: {user_input!r} is not a valid CRS ({error})",
            hint="Give an EPSG code such as EPSG:2154 (look it up on epsg.io).",
        ) from error
    return crs_string(parsed)


def _as_crs(crs: Any) -> Any:
    from rasterio.crs import CRS

    return crs if isinstance(crs, CRS) else CRS.from_user_input(crs)


def horizontal_unit(crs: object) -> str:
    """The horizontal unit of ``crs``: ``"metre"``, ``"degree"``, ``"US survey foot"``, ...

    Args:
        crs: anything rasterio's ``CRS.from_user_input`` accepts ("EPSG:2154", WKT, CRS).

    Returns:
        ``"none"`` when ``crs`` is None, ``"degree"`` for a geographic CRS, otherwise the
        linear unit name as PROJ spells it (``"metre"``, ``"foot"``, ``"US survey foot"``).
    """
    from rasterio.errors import CRSError

    if crs is None:
        return "none"
    parsed = _as_crs(crs)
    if parsed.is_geographic:
        return "degree"
    try:
        name, _factor = parsed.linear_units_factor
    except CRSError:  # engineering/local CRS without a defined linear unit
        return "unknown"
    return str(name)


def is_geographic(crs: object) -> bool:
    """True when ``crs`` is a geographic (lon/lat degrees) CRS; False for None."""
    return crs is not None and bool(_as_crs(crs).is_geographic)


def check_horizontal_units(crs: object, source: str, warn_geographic: bool = True) -> str:
    """Accept a metric or geographic CRS, reject any other linear unit.

    Args:
        crs: the CRS of ``source`` (None is accepted: the caller decides what to do).
        source: file name used in messages.
        warn_geographic: log that a geographic CRS will be warped onto UTM.

    Returns:
        The unit name (see ``horizontal_unit``).

    Raises:
        CRSMismatchError: the CRS uses feet (or another non-metre linear unit).
    """
    unit = horizontal_unit(crs)
    if unit in ("metre", "none"):
        return unit
    if unit == "degree":
        if warn_geographic:
            logger.warning(
                "%s: CRS %s is geographic (degrees); it will be warped onto a UTM grid in metres",
                source,
                crs,
            )
        return unit
    if unit == "unknown":
        raise CRSMismatchError(
            f"{source}: CRS {crs} has no known linear unit, so metres cannot be assumed",
            hint=f"Assign the right metric CRS (gdal_edit.py -a_srs EPSG:XXXX {source}) or "
            "reproject the file (gdalwarp -t_srs).",
        )
    factor = _as_crs(crs).linear_units_factor[1]
    raise CRSMismatchError(
        f"{source}: CRS {crs} measures distances in {unit!r} ({factor:g} m), not metres; "
        "heights in such files are usually in the same unit",
        hint=(
            "Reproject to a metric CRS and convert heights to metres, e.g. "
            "gdalwarp -t_srs EPSG:<UTM zone> in.tif out.tif, then multiply heights by "
            f"{factor:g} (gdal_calc.py)."
        ),
    )
