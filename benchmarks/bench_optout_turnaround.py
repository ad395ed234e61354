"""How long an approved opt-out takes to reach a verified release, against a full release from scratch.

    .venv/bin/python benchmarks/bench_optout_turnaround.py [--recipe recipes/release-default.yaml] [--owner pallets]

1. Baseline: `release run` of the recipe into an empty folder (every stage from scratch).
2. A request for `--owner` is filed and approved in that release's registry (the time starts).
3. `release run` again: it cuts the next dataset version, rebuilds what depends on the data
   (dataset, indexes, shards, a training run and its evaluation, transparency, trees), keeps the
   tokenizer, verifies the removal and marks the request applied (the time stops).

Prints the stages each run re-ran with their seconds, and the ratio turnaround / full release.
Runs by hand, not in CI (tens of minutes on the embedded default). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "bigcode_release.cli"]


def release_run(recipe: Path, out: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(
        [*CLI, "release", "run", str(recipe), "--out", str(out), "--json"], capture_output=True, text=True, cwd=REPO
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"release run failed:\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout)


def cli_json(*args: str) -> dict:
    done = subprocess.run([*CLI, *args, "--json"], capture_output=True, text=True, cwd=REPO, check=True)
    return json.loads(done.stdout)


def stage_seconds(result: dict) -> dict[str, float]:
    return {stage["name"]: stage["seconds"] for stage in result["stages"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=REPO / "recipes" / "release-default.yaml")
    parser.add_argument("--owner", default="pallets", help="the account whose opt-out is approved")
    parser.add_argument("--work", type=Path, default=None, help="folder for the release (default: a temp dir)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-optout-turnaround-"))
    out = work / "release"

    full_seconds, full = release_run(args.recipe.resolve(), out)
    first = {s["name"]: s for s in full["stages"]}
    print(f"full release from scratch: {full_seconds:,.0f} s, dataset {first['dataset']['version']}")
    for name, seconds in stage_seconds(full).items():
        print(f"  {name:<13} {seconds:8.1f} s")

    registry = str(out / "optout.sqlite")
    approved_at = time.perf_counter()
    request = cli_json("optout", "submit", args.owner, "--registry", registry)
    cli_json("optout", "approve", request["id"], "--by", "benchmark", "--registry", registry)
    _, again = release_run(args.recipe.resolve(), out)
    turnaround = time.perf_counter() - approved_at
    second = {s["name"]: s for s in again["stages"]}
    status = cli_json("optout", "status", request["id"], "--registry", registry)
    receipt = status.get("receipt") or {}
    print(
        f"approval -> verified {second['dataset']['version']}: {turnaround:,.0f} s "
        f"({status['status']}; receipt verified: {receipt.get('verified')}; "
        f"{receipt.get('removed', {}).get('files', 0)} files, {receipt.get('removed', {}).get('copies', 0)} copies)"
    )
    reused = [n for n, s in second.items() if s.get("reused") or s.get("resumed_from")]
    for name, seconds in stage_seconds(again).items():
        print(f"  {name:<13} {seconds:8.1f} s{'  (reused)' if name in reused else ''}")
    print(f"turnaround / full release: {turnaround / full_seconds:.2f}")
    print(
        json.dumps(
            {
                "benchmark": "optout_turnaround",
                "owner": args.owner,
                "full_release_s": round(full_seconds, 1),
                "turnaround_s": round(turnaround, 1),
                "ratio": round(turnaround / full_seconds, 3),
                "new_version": second["dataset"]["version"],
                "request_status": status["status"],
                "receipt_verified": receipt.get("verified"),
                "files_removed": receipt.get("removed", {}).get("files"),
                "copies_removed": receipt.get("removed", {}).get("copies"),
                "stages_reused": reused,
                "turnaround_stage_s": stage_seconds(again),
            }
        )
    )


if __name__ == "__main__":
    main()
