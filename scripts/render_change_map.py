"""Render a change-classes raster (``forestgaps change`` output) as a PNG map for the docs.

Usage: python scripts/render_change_map.py OUT_DIR/change_classes_t10.tif docs/images/x.png
Colours are those of resources/styles/change_classes.qml, so the picture matches QGIS.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

# value -> (label, colour), as in resources/styles/change_classes.qml; never gap is white.
CLASSES = {
    0: ("never gap", "#ffffff"),
    1: ("persistent gap", "#9e9e9e"),
    2: ("new gap (formation)", "#d7301f"),
    3: ("closed gap (recovery)", "#1a9850"),
}
NODATA_COLOUR = "#000000"


def render(classes_path: Path, target: Path, title: str) -> Path:
    """Draw the classes with a legend and the area of each class, and save ``target``."""
    import rasterio
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    with rasterio.open(classes_path) as dataset:
        classes = dataset.read(1)
        left, bottom, right, top = dataset.bounds
        cell_area_m2 = abs(dataset.transform.a * dataset.transform.e)
    shown = np.where(classes == 255, 4, classes)
    colours = [colour for _, colour in CLASSES.values()] + [NODATA_COLOUR]
    figure = Figure(figsize=(6.4, 6.8), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    axes.imshow(shown, cmap=ListedColormap(colours), vmin=0, vmax=4, interpolation="nearest",
                extent=(0, right - left, 0, top - bottom))  # fmt: skip
    axes.set_xlabel("x (m)")
    axes.set_ylabel("y (m)")
    axes.set_title(title)
    handles = [
        Patch(facecolor=colour, edgecolor="0.4",
              label=f"{label}: {np.count_nonzero(classes == value) * cell_area_m2:g} m²")
        for value, (label, colour) in CLASSES.items()
    ]  # fmt: skip
    axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2,
                fontsize="small")  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    # "tight" keeps the legend below the map inside the picture.
    figure.savefig(target, format="png", bbox_inches="tight")
    return target


def main() -> None:
    """Parse the arguments and render."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("classes", type=Path, help="change_classes_tT.tif")
    parser.add_argument("target", type=Path, help="PNG to write")
    parser.add_argument("--title", default="Gap change", help="title above the map")
    args = parser.parse_args()
    sys.stdout.write(f"{render(args.classes, args.target, args.title)}\n")


if __name__ == "__main__":
    main()
