"""The benchmark's config: a ForestGapsConfig plus a ``benchmark:`` section.

The section names the contenders, folds, held-out seeds, speed test and output paths;
``--set benchmark.n_folds=2`` and ``--set training.epochs=1`` both work on the one file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import Field

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.config.base import StrictModel
from forestgaps_engine.config.data import SiteConfig
from forestgaps_engine.config.loader import (
    apply_overrides,
    load_config,
    read_yaml,
    validate_document,
)
from forestgaps_engine.errors import ConfigError
from forestgaps_engine.experiments.real_folds import deal_by_source, site_source

logger = logging.getLogger(__name__)


class BenchmarkArchitecture(StrictModel):
    """One contender: a registered architecture, its parameters and a run name."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: str | None = None

    @property
    def run_name(self) -> str:
        """Folder and table name (``label`` or the architecture name)."""
        return self.label or self.name


class BenchmarkSettings(StrictModel):
    """The ``benchmark:`` section of a benchmark config (the rest is a ForestGapsConfig)."""

    architectures: list[BenchmarkArchitecture] = Field(min_length=1)
    n_folds: int = Field(default=1, ge=1, le=20)
    eval_seeds: list[int] = Field(default=[9000, 9001], min_length=1)
    eval_size_px: int = Field(default=512, ge=64, le=8192)
    eval_thresholds_m: list[float] | None = None
    speed_threshold_m: float = Field(default=5.0, gt=0.0)
    speed_size_px: int = Field(default=1024, ge=64, le=16384)
    output_dir: str = "out/benchmark"
    prepared_dir: str | None = None
    report: str | None = "docs/benchmark.md"
    # A YAML whose data.sites (real sites, configs/real_sites.yaml) are dealt over the
    # folds by source: fold k trains on the other folds' sites and is scored on its own
    # (with one fold, they are scored only). Sites whose files are absent are left out.
    real_sites: str | None = None
    # Only these sites of real_sites (None: all): the large clouds cost minutes each.
    real_site_names: list[str] | None = None
    # Converged ("flat"): the validation IoU moved by at most this over the last
    # convergence_tail_fraction of the epochs, in every fold.
    convergence_tolerance_iou: float = Field(default=0.01, gt=0.0, le=1.0)
    convergence_tail_fraction: float = Field(default=0.25, gt=0.0, lt=1.0)


def load_benchmark_config(
    path: str | Path, overrides: Iterable[str] = ()
) -> tuple[ForestGapsConfig, BenchmarkSettings]:
    """Split a benchmark YAML into the shared config and its ``benchmark`` section.

    ``--set benchmark.n_folds=2`` and ``--set training.epochs=1`` both work.

    Raises:
        ConfigError: naming the file, the key and the fix.
    """
    document = apply_overrides(read_yaml(Path(path)), overrides)
    section = document.pop("benchmark", None)
    if not isinstance(section, dict):
        raise ConfigError(
            f"{path}: no 'benchmark:' section (architectures to compare)",
            hint="Add benchmark: {architectures: [{name: mobile_unet}]}; see "
            "configs/benchmark.yaml.",
        )
    config = validate_document(document, str(path))
    try:
        settings = BenchmarkSettings.model_validate(section)
    except ValueError as error:
        raise ConfigError(
            f"{path}: benchmark section: {error}",
            hint="See configs/benchmark.yaml for every key of the benchmark section.",
        ) from None
    return config, settings


def check_benchmark(config: ForestGapsConfig, settings: BenchmarkSettings) -> None:
    """Raise ConfigError unless training seeds exist and stay clear of the eval seeds."""
    if config.data.synthetic_sites < 1:
        raise ConfigError(
            "the benchmark trains on synthetic sites, but data.synthetic_sites is 0",
            hint="Set data.synthetic_sites (e.g. 8).",
        )
    n = config.data.synthetic_sites * settings.n_folds
    used = set(range(config.synth.seed, config.synth.seed + n))
    clash = sorted(used & set(settings.eval_seeds))
    if clash:
        raise ConfigError(
            f"benchmark.eval_seeds {clash} are training seeds (synth.seed "
            f"{config.synth.seed} .. {config.synth.seed + n - 1})",
            hint="Pick evaluation seeds outside the training range, e.g. 9000, 9001.",
        )
    names = [item.run_name for item in settings.architectures]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(
            f"benchmark.architectures: run names {duplicates} appear twice",
            hint="Give each entry a distinct 'label'.",
        )


def real_site_folds(settings: BenchmarkSettings) -> list[list[SiteConfig]]:
    """The real sites of ``settings.real_sites`` dealt over the folds by source.

    The dealing is ``evaluate-real --folds``' (``deal_by_source``): the sites of one source
    stay in one fold, so fold ``k``, trained on the other folds' sites, is scored on sites
    whose source it never saw. Sites whose input files are absent (licensed data outside
    the repository) are left out first, with one log line naming them; with none left,
    every fold is empty.

    Raises:
        ConfigError: the file cannot be read, a site entry is invalid, a name in
            ``real_site_names`` is unknown, or the present sites span fewer sources than
            folds.
    """
    if not settings.real_sites:
        return [[] for _ in range(settings.n_folds)]
    path = Path(settings.real_sites)
    sites = list(load_config(path).data.sites)
    if settings.real_site_names is not None:
        unknown = sorted(set(settings.real_site_names) - {site.name for site in sites})
        if unknown:
            raise ConfigError(
                f"benchmark.real_site_names {unknown} are not sites of {path}",
                hint="Use names listed under data.sites of that file.",
            )
        sites = [site for site in sites if site.name in settings.real_site_names]
    present = [site for site in sites if all(Path(p).exists() for p in _site_inputs(site))]
    missing = sorted({site.name for site in sites} - {site.name for site in present})
    if missing:
        logger.warning(
            "benchmark.real_sites %s: %d site(s) left out, input files absent: %s",
            path,
            len(missing),
            ", ".join(missing),
        )
    if not present:
        return [[] for _ in range(settings.n_folds)]
    if settings.n_folds == 1:
        return [present]
    sources = {site_source(site) for site in present}
    if len(sources) < settings.n_folds:
        raise ConfigError(
            f"benchmark.n_folds {settings.n_folds}: the real sites present in {path} come "
            f"from only {len(sources)} source(s), and a fold is scored on sources it never "
            "trained on",
            hint=f"Set benchmark.n_folds to {len(sources)} or fewer, or list more sources "
            "in benchmark.real_site_names.",
        )
    return deal_by_source(present, settings.n_folds)


def _site_inputs(site: SiteConfig) -> list[str]:
    return [p for p in (site.dsm, site.chm, site.dtm, site.point_cloud) if p is not None]
