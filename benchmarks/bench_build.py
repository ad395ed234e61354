"""The dataset build against datatrove's MinHash dedup on the same files, in MiB of source text
read per CPU-second: the full recipe (target: 2x the baseline or more) and, like for like, dedup
alone on both sides.

    .venv/bin/python benchmarks/bench_build.py [--recipe recipes/the-stack-local.yaml]

Four runs, one after the other, each a process tree billed only its own CPU (`_measure.py`):

1. full recipe: `bigcode-release dataset build` (every step: language, license, opt-out, quality
   filters, exact and near dedup, PII, decontamination, format, Parquet shards, stats and card);
2. datatrove for (1): the files (1) fingerprinted (those left after its filters), read with the
   recipe's size limit, MinHash with datatrove's defaults (5-grams, 14 x 8);
3. dedup only: the same build with license, opt-out, generated, encoded-data, PII,
   decontamination and format switched off (read, language, the quality thresholds, exact and
   near dedup, shards, stats and card remain);
4. datatrove for (3): the files (3) fingerprinted, MinHash with the recipe's parameters
   (5-grams, 25 bands x 10 rows).

Both datatrove runs read each file once (signatures and a Parquet hand-off in one pass, the
filter stage reads the hand-off) and write zstd Parquet as the build does, with the recipe's
tasks and workers. A rate divides the bytes of the files that side actually read (files of a
known language within the size limit; for datatrove, the files it was given) by its CPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import Measured, run_measured  # noqa: E402

from bigcode_release.data.pipeline import FINISH_STEPS  # noqa: E402
from bigcode_release.data.sources.plan import ReadPlan  # noqa: E402
from bigcode_release.recipe import load_recipe  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEDUP_ONLY = {
    "license": {"enabled": False},
    "optout": {"list": None},
    "quality": {"generated": False, "encoded_data": {"enabled": False}},
    "pii": {"enabled": False},
    "decontamination": {"enabled": False},
    "format": {"enabled": False},
}


def _merge(target: dict, changes: dict) -> dict:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
    return target


def run_build(recipe: Path, out: Path) -> tuple[Measured, Path]:
    measured = run_measured(
        [sys.executable, "-m", "bigcode_release.cli", "dataset", "build", str(recipe), "--out", str(out), "--json"],
        cwd=REPO,
    )
    if measured.returncode:
        raise SystemExit(f"build of {recipe} failed:\n{measured.stderr[-3000:]}")
    return measured, Path(json.loads(measured.stdout)["version_dir"])


def bytes_read_by_build(version_dir: Path, max_file_bytes: int) -> int:
    """Bytes of the planned files the build's reader opened (a known language, within the limit)."""
    plan = ReadPlan.load(version_dir / "work" / "plan.json")
    return sum(f.size for r in plan.repos for f in r.files if f.language is not None and f.size <= max_file_bytes)


def fingerprinted_plan(version_dir: Path, out: Path) -> tuple[Path, int, int]:
    """The build's plan cut down to the files its filter stage handed to fingerprinting: those it
    kept and those a finish-stage step (copies, dedup, decontamination) dropped afterwards."""
    import duckdb

    ids = set(pq.read_table(version_dir / "data", columns=["id"]).column("id").to_pylist())
    for step in FINISH_STEPS:
        ledgers = version_dir / "work" / "dropped" / step
        if any(ledgers.glob("*.jsonl.gz")):
            query = f"SELECT repo_name || '/' || path FROM read_json('{ledgers}/*.jsonl.gz')"
            ids.update(row[0] for row in duckdb.sql(query).fetchall())
    plan = ReadPlan.load(version_dir / "work" / "plan.json")
    repos = [replace(r, files=tuple(f for f in r.files if f"{r.repo_name}/{f.path}" in ids)) for r in plan.repos]
    plan.repos = [r for r in repos if r.files]
    plan.save(out)
    return out, plan.total_files, plan.total_bytes


def run_datatrove(plan: Path, work: Path, recipe: Path, minhash: str) -> Measured:
    measured = run_measured(
        [
            sys.executable,
            str(Path(__file__).resolve().parent / "_datatrove_minhash.py"),
            str(plan),
            str(work),
            str(recipe),
            minhash,
        ],
        cwd=REPO,
    )
    if measured.returncode:
        raise SystemExit(f"datatrove baseline failed:\n{measured.stderr[-3000:]}")
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=REPO / "recipes" / "the-stack-local.yaml")
    args = parser.parse_args()
    recipe = load_recipe(args.recipe)
    limit = recipe.quality.max_file_bytes
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        tmp = Path(tmp)
        dedup_recipe = tmp / "dedup-only.yaml"
        dedup_recipe.write_text(yaml.safe_dump(_merge(yaml.safe_load(args.recipe.read_text()), DEDUP_ONLY)))
        runs = [
            ("full recipe (every step)", args.recipe, "datatrove MinHash, defaults 14x8", "default"),
            ("dedup only (this toolkit)", dedup_recipe, "datatrove MinHash, recipe's 25x10", "recipe"),
        ]
        for index, (label, recipe_path, baseline_label, minhash) in enumerate(runs):
            ours, version_dir = run_build(recipe_path, tmp / f"release-{index}")
            our_bytes = bytes_read_by_build(version_dir, limit)
            plan, files, their_bytes = fingerprinted_plan(version_dir, tmp / f"plan-{index}.json")
            theirs = run_datatrove(plan, tmp / f"datatrove-{index}", recipe_path, minhash)
            rows.append((label, ours, our_bytes, baseline_label, theirs, their_bytes, files))
    print(f"recipe {args.recipe.name}: max_file_bytes {limit:,}; CPU of each run's own process tree")
    print(f"{'run':36} {'MiB read':>9} {'CPU-s':>8} {'wall s':>7} {'procs':>5} {'MiB/CPU-s':>10}")
    figures = {}
    for label, ours, our_bytes, baseline_label, theirs, their_bytes, files in rows:
        our_rate = our_bytes / 2**20 / ours.cpu_seconds
        their_rate = their_bytes / 2**20 / theirs.cpu_seconds
        for name, measured, nbytes, rate in (
            (label, ours, our_bytes, our_rate),
            (f"  {baseline_label}", theirs, their_bytes, their_rate),
        ):
            print(
                f"{name:36} {nbytes / 2**20:9.1f} {measured.cpu_seconds:8.1f} {measured.wall_seconds:7.1f} "
                f"{measured.processes:5} {rate:10.2f}"
            )
        print(f"  ratio {our_rate / their_rate:.2f}x  (datatrove read the {files:,} files fingerprinted)")
        figures[label] = (our_rate, their_rate, ours.cpu_seconds, theirs.cpu_seconds)
    full, dedup = figures[rows[0][0]], figures[rows[1][0]]
    ratio = full[0] / full[1]
    print(
        f"full-recipe ratio {ratio:.2f}x (target 2x): {'met' if ratio >= 2 else 'NOT met'}; "
        f"dedup-only ratio {dedup[0] / dedup[1]:.2f}x"
    )
    print(
        json.dumps(
            {
                "benchmark": "build",
                "full_mib_per_cpu_s": round(full[0], 2),
                "baseline_mib_per_cpu_s": round(full[1], 2),
                "ratio": round(ratio, 2),
                "dedup_only_mib_per_cpu_s": round(dedup[0], 2),
                "dedup_only_baseline_mib_per_cpu_s": round(dedup[1], 2),
                "dedup_only_ratio": round(dedup[0] / dedup[1], 2),
                "cpu_s": {
                    "full": round(full[2], 1),
                    "baseline": round(full[3], 1),
                    "dedup_only": round(dedup[2], 1),
                    "dedup_only_baseline": round(dedup[3], 1),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
