"""The benchmark's config: a ForestGapsConfig plus a ``benchmark:`` section.

The section names the contenders, folds, held-out seeds, speed test and output paths;
``--set benchmark.n_folds=2`` and ``--set training.epochs=1`` both work on the one file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import Field

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.config.base import StrictModel
from forestgaps_engine.config.loader import apply_overrides, read_yaml, validate_document
from forestgaps_engine.errors import ConfigError


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
