"""The full dataset recipe against datatrove's MinHash dedup alone, on the same documents, in MiB
of source text per CPU-second (target: the full recipe at 2x or more the baseline).

    .venv/bin/python benchmarks/bench_build.py [--recipe recipes/the-stack-local.yaml]

Full recipe: `bigcode-release dataset build` (every step: language, license, opt-out, quality
filters, exact and near dedup, PII, decontamination, format, Parquet shards, stats and card).
Baseline: datatrove's four MinHash stages with their default configuration (5-grams, 14 x 8) and
a regex word tokenizer (the default English one needs spaCy), reading the same planned files
with the same reader, writing the kept files as gzip JSONL, with the same executor settings.
CPU is counted for every process (see `_measure.py`); the machine should be otherwise idle.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.writers import JsonlWriter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import cpu_seconds, cpu_source  # noqa: E402

from bigcode_release.data.dedup.shingles import CodeWordTokenizer  # noqa: E402
from bigcode_release.data.sources.repo_reader import RepoFilesReader  # noqa: E402
from bigcode_release.recipe import load_recipe  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def run_full(recipe: Path, out: Path) -> tuple[float, float, dict]:
    started_cpu, started = cpu_seconds(), time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bigcode_release.cli", "dataset", "build", str(recipe), "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if result.returncode:
        raise SystemExit(f"full build failed:\n{result.stderr[-3000:]}")
    return cpu_seconds() - started_cpu, time.monotonic() - started, json.loads(result.stdout)


def run_baseline(plan: Path, work: Path, tasks: int, workers: int) -> tuple[float, float]:
    config = MinhashConfig()  # datatrove's defaults: 5-grams, 14 buckets x 8 hashes, 64-bit

    def reader():
        return RepoFilesReader(str(plan), None, 10**12)

    stages = [
        ([reader(), MinhashDedupSignature(str(work / "sigs"), config=config, language=CodeWordTokenizer())], tasks),
        ([MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=config)], config.num_buckets),
        ([MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=config)], 1),
        ([reader(), MinhashDedupFilter(str(work / "remove")), JsonlWriter(str(work / "out"))], tasks),
    ]
    started_cpu, started = cpu_seconds(), time.monotonic()
    for index, (pipeline, stage_tasks) in enumerate(stages):
        LocalPipelineExecutor(
            pipeline, tasks=stage_tasks, workers=min(workers, stage_tasks), logging_dir=str(work / f"logs{index}")
        ).run()
    return cpu_seconds() - started_cpu, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=REPO / "recipes" / "the-stack-local.yaml")
    args = parser.parse_args()
    recipe = load_recipe(args.recipe)
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        tmp = Path(tmp)
        full_cpu, full_wall, result = run_full(args.recipe, tmp / "release")
        version_dir = Path(result["version_dir"])
        source_mib = result["totals"]["source_text_bytes"] / 2**20
        plan = tmp / "plan.json"
        shutil.copy(version_dir / "work" / "plan.json", plan)
        base_cpu, base_wall = run_baseline(plan, tmp / "baseline", recipe.executor.tasks, recipe.executor.workers)
    full_rate, base_rate = source_mib / full_cpu, source_mib / base_cpu
    ratio = full_rate / base_rate
    print(
        f"documents: {source_mib:.1f} MiB of source text ({result['totals']['input_files']:,} files); "
        f"CPU measured by {cpu_source()}"
    )
    print(f"{'run':34} {'CPU-s':>8} {'wall s':>8} {'MiB/CPU-s':>10}")
    print(f"{'full recipe (every step)':34} {full_cpu:8.1f} {full_wall:8.1f} {full_rate:10.2f}")
    print(f"{'baseline: datatrove MinHash alone':34} {base_cpu:8.1f} {base_wall:8.1f} {base_rate:10.2f}")
    print(f"ratio {ratio:.2f}x (target 2x): {'met' if ratio >= 2 else 'NOT met'}")
    print(
        json.dumps(
            {
                "benchmark": "build",
                "source_mib": round(source_mib, 1),
                "full_cpu_s": round(full_cpu, 1),
                "baseline_cpu_s": round(base_cpu, 1),
                "full_mib_per_cpu_s": round(full_rate, 2),
                "baseline_mib_per_cpu_s": round(base_rate, 2),
                "ratio": round(ratio, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
