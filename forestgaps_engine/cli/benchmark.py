"""``forestgaps benchmark`` (every architecture, same budget) and ``forestgaps evaluate-heldout``."""

from __future__ import annotations

import argparse
import json
import sys

from forestgaps_engine.cli.common import (
    add_config_options,
    add_thresholds_option,
    config_from_args,
    log_progress,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps benchmark`` and ``evaluate-heldout`` subcommands to ``subparsers``."""
    parser = subparsers.add_parser(
        "benchmark",
        help="train and score every architecture of a benchmark config on the same data",
        description="Prepare synthetic data once per fold, train each architecture of the "
        "config's 'benchmark:' section with the same budget, score it on held-out synthetic "
        "sites next to both baselines and write the comparison (markdown + PNG). Finished "
        "runs (runs/<name>/result.json) are skipped, so a rerun resumes.",
    )
    add_config_options(
        parser, "benchmark YAML (configs/benchmark.yaml)",
        "override a value, e.g. --set training.epochs=1 --set benchmark.n_folds=2", True,
    )  # fmt: skip
    parser.set_defaults(handler=run_benchmark_command)

    heldout = subparsers.add_parser(
        "evaluate-heldout",
        help="score a model and both baselines on held-out synthetic sites (several "
        "resolutions, unseen thresholds) against the issue's aims",
    )
    add_config_options(heldout)
    heldout.add_argument("--model", default="default", help="model folder or 'default'")
    heldout.add_argument("--out", default="out/heldout", help="output folder")
    heldout.add_argument(
        "--seed", dest="seeds", type=int, action="append", help="site seed (repeatable)"
    )
    add_thresholds_option(heldout, None)
    heldout.add_argument(
        "--resolution", dest="resolutions_m", type=float, action="append", metavar="METRES"
    )
    heldout.add_argument("--extent", type=float, default=512.0, help="site side, metres")
    heldout.add_argument("--doc", help="also write the 'default-model' section of this markdown")
    heldout.set_defaults(handler=run_heldout)


def run_benchmark_command(args: argparse.Namespace) -> int:
    """Run ``forestgaps benchmark``: train and score every architecture; return 0."""
    from forestgaps_engine.experiments.benchmark import run_benchmark
    from forestgaps_engine.experiments.benchmark_config import load_benchmark_config

    config, settings = load_benchmark_config(args.config, args.overrides)

    result = run_benchmark(config, settings, progress=log_progress)
    summary = {
        "output_dir": str(result.output_dir),
        "report": None if result.report is None else str(result.report),
        "skipped": list(result.skipped),
        "runs": {
            run["run"] + (f"_fold{run['fold']}" if settings.n_folds > 1 else ""): {
                "train_s": run["training"]["duration_s"],
                "mpix_per_s": run["inference"]["mpix_per_s"],
                "iou": {t: round(s["iou"], 4) for t, s in run["scores"].items()},
            }
            for run in result.runs
        },
    }
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    return 0


def run_heldout(args: argparse.Namespace) -> int:
    """Run ``forestgaps evaluate-heldout`` on held-out synthetic sites; return 0."""
    from forestgaps_engine.experiments.heldout_report import heldout_report

    options = {
        key: tuple(value)
        for key, value in (
            ("seeds", args.seeds),
            ("thresholds_m", args.thresholds_m),
            ("resolutions_m", args.resolutions_m),
        )
        if value
    }
    report = heldout_report(
        args.model,
        config_from_args(args),
        args.out,
        extent_m=args.extent,
        doc=args.doc,
        **options,
    )
    sys.stdout.write(report.markdown)
    return 0
