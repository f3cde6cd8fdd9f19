"""A real point cloud made ready for the rasterizer: metres, ground classified, no buildings.

``prepare_cloud`` reads a LAS/LAZ whole (the corpus's clouds hold under a million points),
scales feet to metres, drops noise, withheld points and the excluded classes (buildings),
classifies ground with CSF where the cloud has none, and writes a metric LAS that
``geo.lidar.rasterize_point_cloud`` turns into DSM, DTM and CHM.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.config.data import LidarSiteConfig
from forestgaps_engine.data.real_sites.ground_filter import CsfSettings, classify_ground_csf
from forestgaps_engine.data.real_sites.units import (
    METRES_PER_UNIT,
    axis_unit,
    has_metre_axes,
    metric_twin,
)
from forestgaps_engine.errors import DataError
from forestgaps_engine.geo.crs import normalize_crs
from forestgaps_engine.geo.lidar import (
    GROUND_CLASS,
    NEAR_ZERO_M,
    NOISE_CLASSES,
    NORMALISED_GROUND_FRACTION,
    open_point_cloud,
)

logger = logging.getLogger(__name__)

# Written classes: the rasterizer only tells ground (2) from the rest.
OTHER_CLASS = 1


@dataclass(frozen=True)
class PreparedCloud:
    """The metric, classified cloud and what was done to make it.

    Attributes:
        path: the LAS written (metres, classes 1 and 2 only).
        crs: its CRS (the source's, or its metric twin), None when unknown.
        excluded_xy_m: (N, 2) X, Y in metres of the points of excluded classes.
        record: JSON-friendly account (units, classes, ground filter, counts).
    """

    path: Path
    crs: str | None
    excluded_xy_m: np.ndarray
    record: dict[str, Any] = field(default_factory=dict)


def _header_crs(las: Any) -> str | None:
    try:
        parsed = las.header.parse_crs()
    except Exception:  # noqa: BLE001 - a malformed CRS record means "no CRS" here
        return None
    return None if parsed is None else parsed.to_wkt()


def _looks_normalised(z_m: np.ndarray, is_ground: np.ndarray) -> bool:
    if is_ground.any():
        near = np.abs(z_m[is_ground]) <= NEAR_ZERO_M
        return bool(near.mean() >= NORMALISED_GROUND_FRACTION)
    return bool(z_m.size) and abs(float(z_m.min())) <= NEAR_ZERO_M


def _write_las(target: Path, xyz_m: np.ndarray, is_ground: np.ndarray) -> None:
    import laspy

    header = laspy.LasHeader(point_format=0, version="1.2")
    header.offsets = np.floor(xyz_m.min(axis=0))
    header.scales = np.array([0.001, 0.001, 0.001])
    las = laspy.LasData(header)
    las.x, las.y, las.z = xyz_m[:, 0], xyz_m[:, 1], xyz_m[:, 2]
    las.classification = np.where(is_ground, GROUND_CLASS, OTHER_CLASS).astype(np.uint8)
    las.write(target)


def prepare_cloud(
    path: str | Path, crs: str | None, options: LidarSiteConfig, target: Path
) -> PreparedCloud:
    """Read, convert, filter and classify a cloud, and write it to ``target`` in metres.

    Args:
        path: LAS/LAZ file.
        crs: the site's CRS (replaces the header's; needed where the header has none).
        options: the site's ``lidar`` settings.
        target: the LAS to write (its folder exists).

    Returns:
        The written cloud, its CRS and the record of every step.

    Raises:
        InvalidDataFormatError: missing or unreadable file.
        CRSMismatchError: a CRS in degrees or a unit other than metres and feet.
        DataError: no point left, a height-normalised cloud not declared so (or the
            reverse), or no ground point with the ground filter off.
        ConfigError: CSF needed but not installed.
    """
    path = Path(path)
    las = open_point_cloud(path, is_whole=True)
    source_crs = normalize_crs(crs, str(path)) if crs else _header_crs(las)
    unit = axis_unit(source_crs, str(path)) if options.units == "auto" else options.units
    metres_per_unit = METRES_PER_UNIT[unit]
    metric_crs = source_crs
    if source_crs is not None and not has_metre_axes(source_crs):
        metric_crs = metric_twin(source_crs)
    xyz_m = np.column_stack([las.x, las.y, las.z]).astype(np.float64) * metres_per_unit
    classes = np.asarray(las.classification).astype(np.int64)
    keep = ~np.isin(classes, NOISE_CLASSES)
    if "withheld" in las.point_format.dimension_names:
        keep &= ~np.asarray(las.withheld, dtype=bool)
    excluded = keep & np.isin(classes, options.exclude_classes)
    kept = keep & ~excluded
    if not kept.any():
        raise DataError(
            f"{path}: no point left after dropping noise and classes {options.exclude_classes}",
            hint="Check the cloud's classes (lasinfo) and the site's lidar.exclude_classes.",
        )
    points_m = xyz_m[kept]
    is_ground = classes[kept] == GROUND_CLASS
    record: dict[str, Any] = {
        "points_read": int(classes.size),
        "points_kept": int(kept.sum()),
        "noise_or_withheld_dropped": int((~keep).sum()),
        "excluded_classes": {
            str(c): int((excluded & (classes == c)).sum()) for c in options.exclude_classes
        },
        "units": {
            "from": unit,
            "metres_per_unit": metres_per_unit,
            "xyz_scaled": metres_per_unit != 1.0,
            "crs_from": source_crs,
            "crs_to": metric_crs,
        },
    }
    is_normalised = _looks_normalised(points_m[:, 2], is_ground)
    if options.height_normalised != is_normalised:
        said, found = (
            ("height_normalised: true", "z starts far from 0 m")
            if options.height_normalised
            else ("no height_normalised", "its ground returns (or lowest points) are at 0 m")
        )
        raise DataError(
            f"{path}: the site says {said} but {found} (lowest z {points_m[:, 2].min():.2f} m)",
            hint="Set the site's lidar.height_normalised to match the cloud "
            "(true when z is height above ground).",
        )
    if options.height_normalised:
        record["ground"] = {"source": "height-normalised cloud: ground at 0 m"}
    elif is_ground.any() and options.ground_filter != "csf":
        record["ground"] = {"source": "classified", "ground_points": int(is_ground.sum())}
    elif options.ground_filter == "none":
        raise DataError(
            f"{path}: no ground point (class {GROUND_CLASS}) and lidar.ground_filter is none",
            hint="Set the site's lidar.ground_filter to auto (CSF) or classify ground first.",
        )
    else:
        settings = CsfSettings(
            options.cloth_resolution_m, options.class_threshold_m, options.steep_slopes
        )
        is_ground = classify_ground_csf(points_m, settings, path.name)
        record["ground"] = {
            "source": "csf",
            **asdict(settings),
            "ground_points": int(is_ground.sum()),
        }
    _write_las(target, points_m, is_ground)
    logger.info(
        "%s: %d points in metres (%s, x%.6f), %d excluded, ground: %s",
        path.name,
        len(points_m),
        unit,
        metres_per_unit,
        int(excluded.sum()),
        record["ground"]["source"],
    )
    return PreparedCloud(target, metric_crs, xyz_m[excluded][:, :2], record)
