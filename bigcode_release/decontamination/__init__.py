"""Keeping benchmark problems out of the training data."""

from bigcode_release.decontamination.benchmarks import BenchmarkText, load_benchmark_texts
from bigcode_release.decontamination.index import BenchmarkIndex, Contamination

__all__ = ["BenchmarkIndex", "BenchmarkText", "Contamination", "load_benchmark_texts"]
