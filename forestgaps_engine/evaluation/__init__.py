"""Metrics, baselines, reports and benchmarks over predictions."""
