"""Held-out scores on the real corpus: every site scored by a model that never saw its source.

``evaluate_real_folds`` deals the real sites over ``n_folds`` folds, the sites of one source
together (the adjacent tiles of one survey, one author's plots), so a fold is never scored
on a neighbour of what it trained on; with as many folds as sources this is
leave-one-source-out. For each fold it trains the training config on its synthetic sites
plus the other folds' real sites (``prepare`` then ``train``), and scores the fold's own
sites with ``evaluate_real_sites``. The rows of every fold make one table, pooled from their
confusion counts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.config.data import SiteConfig
from forestgaps_engine.data.prepare import prepare
from forestgaps_engine.errors import ConfigError
from forestgaps_engine.evaluation.real_sites import (
    THRESHOLDS_M,
    RealSitesReport,
    evaluate_real_sites,
    write_report,
)
from forestgaps_engine.files import ensure_writable_dir
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter
from forestgaps_engine.training.api import train

logger = logging.getLogger(__name__)


def site_source(site: SiteConfig) -> str:
    """The source a site belongs to: its ``source_dir``, else its own name."""
    return str(site.source_dir or site.name)


def deal_by_source(sites: Sequence[SiteConfig], n_folds: int) -> list[list[SiteConfig]]:
    """``n_folds`` lists of sites, one source never split, folds as even as sources allow.

    Sources go largest first to the fold holding the fewest sites (ties: the lower fold),
    so the dealing depends only on the sites, not on their order in the file.

    Raises:
        ConfigError: fewer sources than folds.
    """
    groups: dict[str, list[SiteConfig]] = {}
    for site in sites:
        groups.setdefault(site_source(site), []).append(site)
    if len(groups) < n_folds:
        raise ConfigError(
            f"--folds {n_folds}: the sites come from only {len(groups)} source(s)",
            hint=f"Use --folds {len(groups)} or fewer.",
        )
    folds: list[list[SiteConfig]] = [[] for _ in range(n_folds)]
    for _source, members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        smallest = min(range(n_folds), key=lambda index: (len(folds[index]), index))
        folds[smallest].extend(sorted(members, key=lambda site: site.name))
    return folds


def evaluate_real_folds(
    train_config: ForestGapsConfig,
    sites_config: ForestGapsConfig,
    n_folds: int,
    out_dir: str | Path,
    thresholds_m: Sequence[float] = THRESHOLDS_M,
    doc: str | Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> RealSitesReport:
    """Train one model per fold and score each real site with the model that left it out.

    Args:
        train_config: the recipe (synthetic sites, model, training); its ``data.sites``
            are replaced by the real sites of the other folds.
        sites_config: the real sites (``data.sites``), gap rule and inference settings.
        n_folds: at least 2.
        out_dir: ``fold<k>/{prepared,training,evaluation}``, then ``real_sites.json``
            (with the folds and their model ids) and ``real_sites.md`` for all sites.
        thresholds_m: thresholds scored.
        doc: also write the table into this markdown's ``real-sites`` section.
        progress: ``progress(fraction, message)``.
        cancel: returns True to stop.

    Raises:
        ConfigError: fewer than 2 folds or sources, or no real site.
    """
    if n_folds < 2:
        raise ConfigError(f"--folds {n_folds}: need at least 2", hint="Pass --folds 3.")
    sites = list(sites_config.data.sites)
    if not sites:
        raise ConfigError("data.sites is empty: no real site to hold out", hint="Pass --config.")
    folds = deal_by_source(sites, n_folds)
    reporter = Reporter(progress, cancel)
    out = ensure_writable_dir(out_dir)
    rows: list[dict[str, Any]] = []
    models: list[str] = []
    for index, held_out in enumerate(folds):
        step = reporter.sub(index / n_folds, 1 / n_folds)
        folder = out / f"fold{index}"
        trained_on = [site for other in folds if other is not held_out for site in other]
        config = train_config.updated(
            data={"sites": trained_on, "output_dir": str(folder / "prepared")},
            training={"output_dir": str(folder / "training")},
        )
        logger.info(
            "fold %d/%d: training without %s", index + 1, n_folds,
            ", ".join(site.name for site in held_out),
        )  # fmt: skip
        prepare(config, progress=step.sub(0.0, 0.2).report)
        trained = train(config, progress=step.sub(0.2, 0.6).report)
        scored = sites_config.updated(data={"sites": held_out})
        report = evaluate_real_sites(
            trained.model_dir, scored, folder / "evaluation", thresholds_m,
            progress=step.sub(0.8, 0.2).report,
        )  # fmt: skip
        model_id = str(json.loads(report.json_path.read_text("utf-8"))["model_id"])
        models.append(model_id)
        rows.extend({**row, "fold": index, "model_id": model_id} for row in report.rows)
    text = (
        f"{n_folds} models (`{'`, `'.join(models)}`), one per fold of sites dealt by source; "
        "each site is scored by the model trained without its source,"
    )
    facts = {
        "folds": [[site.name for site in fold] for fold in folds],
        "model_ids": models,
        "architecture": train_config.model.name,
    }
    report = write_report(out, facts, rows, thresholds_m, sites_config, doc, text, False)
    reporter.report(1.0, f"{len(rows)} real sites scored in {n_folds} folds")
    return report
