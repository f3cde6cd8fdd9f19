"""``gap_change``: the one engine call behind ``forestgaps change`` and the plugin.

For each threshold T (label ``t{T:g}``) it writes, on the harmonised grid:
``change_tT.tif`` (ForestGapR's GapChangeDec: int32, 2 on new-gap cells, INT32_MIN
nodata elsewhere), ``change_classes_tT.tif`` (uint8: 0 never gap, 1 persistent gap,
2 new gap, 3 closed gap, 255 where a date has no data), ``gap_events_tT.gpkg`` (one
feature per gap event, see ``gaps.events``) and ``size_frequency_tT.png`` (the second
date's gap sizes), then ``summary.json``. All outputs or none: on failure or cancel the
files this call wrote are removed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.detection.change_model import predicted_gap_ids
from forestgaps_engine.errors import ConfigError
from forestgaps_engine.files import all_or_nothing, threshold_label, write_json_atomic
from forestgaps_engine.gaps.change import (
    CHANGE_PROFILE,
    CLASS_NAMES,
    CLASSES_PROFILE,
    CLOSED_GAP,
    NEW_GAP,
    PERSISTENT_GAP,
    change_classes,
    gap_change_cells,
)
from forestgaps_engine.gaps.change_inputs import (
    DateInputs,
    GridChoice,
    HarmonisedDates,
    harmonise_dates,
)
from forestgaps_engine.gaps.events import EVENT_KINDS, gap_events, write_events_gpkg
from forestgaps_engine.gaps.pipeline import validate_gap_parameters
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter

logger = logging.getLogger(__name__)

M2_PER_HA = 10_000.0
DAYS_PER_YEAR = 365.25
# (threshold_m, reporter) -> (before ids, after ids) on the harmonised grid.
GapIdsFor = Callable[[float, Reporter], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ChangeResult:
    """What ``gap_change`` wrote.

    Attributes:
        out_dir: the output folder.
        grid_message: what was done to bring both dates onto one grid.
        summary: the content of ``summary.json``.
        outputs: every file written, summary last.
    """

    out_dir: Path
    grid_message: str
    summary: dict[str, Any]
    outputs: tuple[Path, ...]

    @property
    def summary_path(self) -> Path:
        """``summary.json``."""
        return self.outputs[-1]


def parse_dates(dates: Sequence[str] | None) -> tuple[dt.date, dt.date] | None:
    """Two ``YYYY-MM-DD`` survey dates, the second later than the first, or None.

    Raises:
        ConfigError: not two dates, not ISO dates, or not in order.
    """
    if not dates:
        return None
    if len(dates) != 2:
        raise ConfigError(
            f"--dates needs two dates, got {len(dates)}: {' '.join(dates)}",
            hint="Give the survey dates of BEFORE and AFTER: --dates 2012-07-01 2014-07-01.",
        )
    try:
        first, second = (dt.date.fromisoformat(str(value)) for value in dates)
    except ValueError as error:
        raise ConfigError(
            f"--dates {' '.join(dates)}: {error}",
            hint="Write dates as YYYY-MM-DD, e.g. --dates 2012-07-01 2014-07-01.",
        ) from error
    if second <= first:
        raise ConfigError(
            f"--dates {first} {second}: the second survey is not after the first",
            hint="Give the BEFORE date first, then the AFTER date.",
        )
    return first, second


def gap_change(
    inputs: DateInputs,
    thresholds_m: Sequence[float],
    out_dir: str | Path,
    min_area_m2: float = 1.0,
    max_area_m2: float = 10000.0,
    dates: Sequence[str] | None = None,
    grid_choice: GridChoice = "finer",
    model: Any = None,
    inference_config: Any = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> ChangeResult:
    """Compare the gaps of two dates at each threshold and write every change output.

    Args:
        inputs: the two CHMs, or two DSMs (with a DTM each, or for the model).
        thresholds_m: gap cells have height <= threshold (several allowed).
        out_dir: output folder (created if needed).
        min_area_m2: smallest kept gap area (inclusive), both dates.
        max_area_m2: largest kept gap area (inclusive), both dates.
        dates: the two survey dates ``YYYY-MM-DD``; with them, rates per ha per year.
        grid_choice: whose grid both dates go onto: ``"finer"``, ``"before"``, ``"after"``.
        model: model for DSMs without DTMs (``"default"`` when None).
        inference_config: the model route's InferenceConfig (None: defaults).
        progress: called with (fraction 0..1, message).
        cancel: returns True to stop; outputs of this call are then removed.

    Returns:
        ChangeResult with the summary and the files written.

    Raises:
        ConfigError: bad thresholds, area bounds, dates or input combination.
        CRSMismatchError: the dates cannot be put on one grid, or a CRS in degrees/feet.
        InvalidDataFormatError, EmptyRasterError, DataError: a bad raster.
        CancelledError: the caller cancelled.
    """
    thresholds = validate_gap_parameters(thresholds_m, min_area_m2, max_area_m2)
    survey_dates = parse_dates(dates)
    reporter = Reporter(progress, cancel)
    reporter.report(0.0, f"reading {inputs.before} and {inputs.after}")
    harmonised = harmonise_dates(inputs, grid_choice)
    reporter.report(0.1, harmonised.message)
    with all_or_nothing(out_dir) as (out, written):
        gap_ids_for = _gap_ids_source(
            inputs, harmonised, thresholds, min_area_m2, max_area_m2, model,
            inference_config, out, reporter.sub(0.1, 0.4),
        )  # fmt: skip
        per_threshold = {}
        span = (0.95 - 0.5) / len(thresholds)
        for index, threshold_m in enumerate(thresholds):
            step = reporter.sub(0.5 + index * span, span)
            per_threshold[threshold_label(threshold_m)] = _run_threshold(
                threshold_m, gap_ids_for, harmonised, survey_dates, out, step, written
            )
        is_observed = harmonised.before.valid & harmonised.after.valid
        summary = {
            "before": str(inputs.before),
            "after": str(inputs.after),
            "input": inputs.kind,
            "detector": "model" if inputs.uses_model else "classic (ForestGapR)",
            "dtm_before": str(inputs.before_dtm) if inputs.before_dtm else None,
            "dtm_after": str(inputs.after_dtm) if inputs.after_dtm else None,
            "grid": {
                "source": harmonised.grid_source,
                "crs": harmonised.grid.crs,
                "resolution_m": list(harmonised.grid.resolution_m),
                "width_px": harmonised.grid.width_px,
                "height_px": harmonised.grid.height_px,
                "message": harmonised.message,
            },
            "cell_area_m2": harmonised.grid.cell_area_m2,
            "observed_area_m2": float(np.count_nonzero(is_observed)) * harmonised.grid.cell_area_m2,
            "min_area_m2": float(min_area_m2),
            "max_area_m2": float(max_area_m2),
            "dates": [str(d) for d in survey_dates] if survey_dates else None,
            "years": _years(survey_dates),
            "classes": {str(value): name for value, name in CLASS_NAMES.items()},
            "thresholds": per_threshold,
        }
        reporter.report(0.97, "writing summary.json")
        written.append(write_json_atomic(out / "summary.json", summary))
    reporter.report(1.0, f"{len(thresholds)} threshold(s) compared in {out}")
    return ChangeResult(out, harmonised.message, summary, tuple(written))


def _years(survey_dates: tuple[dt.date, dt.date] | None) -> float | None:
    if survey_dates is None:
        return None
    return (survey_dates[1] - survey_dates[0]).days / DAYS_PER_YEAR


def _gap_ids_source(
    inputs: DateInputs,
    harmonised: HarmonisedDates,
    thresholds: Sequence[float],
    min_area_m2: float,
    max_area_m2: float,
    model: Any,
    inference_config: Any,
    out: Path,
    reporter: Reporter,
) -> GapIdsFor:
    """How each threshold gets its two gap-id rasters: the classic detector or the model."""
    cell_area_m2 = harmonised.grid.cell_area_m2
    if inputs.uses_model:
        predicted = predicted_gap_ids(
            harmonised, thresholds, model, inference_config, min_area_m2, max_area_m2, out,
            reporter,
        )  # fmt: skip
        return lambda threshold_m, _: predicted[threshold_m]

    from forestgaps_engine.gaps.detector import label_gaps

    def classic(threshold_m: float, step: Reporter) -> tuple[np.ndarray, np.ndarray]:
        step.report(0.0, f"{threshold_label(threshold_m)}: labelling the gaps of both dates")
        return tuple(  # type: ignore[return-value]
            label_gaps(band.values, threshold_m, cell_area_m2, min_area_m2, max_area_m2)
            for band in (harmonised.before, harmonised.after)
        )

    return classic


def _run_threshold(
    threshold_m: float,
    gap_ids_for: GapIdsFor,
    harmonised: HarmonisedDates,
    survey_dates: tuple[dt.date, dt.date] | None,
    out: Path,
    reporter: Reporter,
    written: list[Path],
) -> dict[str, Any]:
    """Compare, write and summarise one threshold; appends each file to ``written``."""
    from forestgaps_engine.gaps.size_plot import write_size_frequency_plot
    from forestgaps_engine.gaps.stats import gap_stats
    from forestgaps_engine.geo.raster_io import write_array

    label = threshold_label(threshold_m)
    grid = harmonised.grid
    cell_area_m2 = grid.cell_area_m2
    before_ids, after_ids = gap_ids_for(threshold_m, reporter)
    is_observed = harmonised.before.valid & harmonised.after.valid
    change = gap_change_cells(before_ids, after_ids)
    classes = change_classes(before_ids, after_ids, is_observed)
    reporter.report(0.3, f"{label}: writing change rasters")
    change_path = written_path(written, write_array(out / f"change_{label}.tif", change, grid,
                                                     CHANGE_PROFILE))  # fmt: skip
    classes_path = written_path(
        written, write_array(out / f"change_classes_{label}.tif", classes, grid, CLASSES_PROFILE)
    )
    reporter.report(0.5, f"{label}: gap events")
    events = gap_events(before_ids, after_ids, cell_area_m2)
    events_path = written_path(
        written,
        write_events_gpkg(out / f"gap_events_{label}.gpkg", f"gap_events_{label}".replace(".", "_"),
                          events, before_ids, after_ids, grid),
    )  # fmt: skip
    reporter.report(0.8, f"{label}: size-frequency plot")
    after_areas_m2 = gap_stats(after_ids, harmonised.after.values, cell_area_m2).gap_area
    plot_path = written_path(
        written,
        write_size_frequency_plot(
            out / f"size_frequency_{label}.png", after_areas_m2,
            title=f"Gap size-frequency, second date, {threshold_m:g} m",
        ),
    )  # fmt: skip
    new_area_m2 = float(np.count_nonzero(change == 2)) * cell_area_m2
    closed_area_m2 = float(np.count_nonzero(classes == CLOSED_GAP)) * cell_area_m2
    observed_ha = float(np.count_nonzero(is_observed)) * cell_area_m2 / M2_PER_HA
    figures: dict[str, Any] = {
        "threshold_m": threshold_m,
        "new_gap_area_m2": new_area_m2,
        "new_gap_count": events.count("new"),
        "closed_gap_area_m2": closed_area_m2,
        "closed_gap_count": events.count("closure"),
        "persistent_gap_area_m2": float(np.count_nonzero(classes == PERSISTENT_GAP))
        * cell_area_m2,
        "new_gap_class_area_m2": float(np.count_nonzero(classes == NEW_GAP)) * cell_area_m2,
        "gap_area_before_m2": float(np.count_nonzero(before_ids)) * cell_area_m2,
        "gap_area_after_m2": float(np.count_nonzero(after_ids)) * cell_area_m2,
        "n_gaps_before": int(before_ids.max()) if before_ids.size else 0,
        "n_gaps_after": int(after_ids.max()) if after_ids.size else 0,
        "events": {kind: events.count(kind) for kind in EVENT_KINDS},
        "rates": None,
        "files": {
            "change": change_path.name,
            "classes": classes_path.name,
            "events": events_path.name,
            "size_frequency": plot_path.name,
        },
    }
    years = _years(survey_dates)
    if years is not None and observed_ha > 0:
        per_ha_year = 1.0 / (observed_ha * years)
        figures["rates"] = {
            "new_gap_area_m2_per_ha_per_year": new_area_m2 * per_ha_year,
            "new_gaps_per_ha_per_year": events.count("new") * per_ha_year,
            "closed_gap_area_m2_per_ha_per_year": closed_area_m2 * per_ha_year,
            "closed_gaps_per_ha_per_year": events.count("closure") * per_ha_year,
        }
    logger.info("%s: %.0f m2 of new gap in %d new gaps, %.0f m2 closed", label, new_area_m2,
                events.count("new"), closed_area_m2)  # fmt: skip
    reporter.report(1.0, f"{label}: {events.count('new')} new gaps")
    return figures


def written_path(written: list[Path], path: Path) -> Path:
    """Record ``path`` as written by this call (for cleanup) and return it."""
    written.append(path)
    return path
