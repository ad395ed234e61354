"""HumanEval infilling built offline (Bavarian et al. 2022): the counts the method yields, canonical
middles passing and empty ones failing in the sandbox, FIM layouts, and a tiny model that
memorised two middles scoring exactly 2/3 through lighteval."""

from __future__ import annotations

import json

import pytest

from bigcode_release.evaluate.infilling import KINDS, fim_query, infilling_problems
from bigcode_release.evaluate.problems import read_problems
from bigcode_release.evaluate.sandbox import sandbox_available
from bigcode_release.tokenizer.special_tokens import FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX
from tests.conftest import run_cli
from tests.serving import served
from tests.tiny_models import memorise, save_checkpoint_folder, tiny_llama, tokenizer_for

PROBLEMS = read_problems()
needs_sandbox = pytest.mark.skipif(sandbox_available() is not None, reason=f"no sandbox: {sandbox_available()}")
SUBSET_PROBLEMS = 6  # CI scores the tasks of HumanEval's first problems; the full run is in the closing note


def test_each_kind_yields_the_counts_of_the_method_and_rebuilds_each_program():
    counts = {kind: len(infilling_problems(PROBLEMS, kind)) for kind in KINDS}
    assert counts == {"single-line": 1033, "multi-line": 5815, "random-span": 1640}
    for kind in KINDS:
        for task in infilling_problems(PROBLEMS, kind).values():
            source = PROBLEMS[task["source_task_id"]]
            assert task["prompt"] + task["middle"] + task["suffix"] == source["prompt"] + source["canonical_solution"]
            assert task["middle"], task["task_id"]


def test_random_spans_depend_on_the_seed_only():
    first, again = (infilling_problems(PROBLEMS, "random-span", seed=1) for _ in range(2))
    other = infilling_problems(PROBLEMS, "random-span", seed=2)
    assert first == again
    assert [t["middle"] for t in first.values()] != [t["middle"] for t in other.values()]


def test_fim_layouts_put_prefix_and_suffix_where_training_does():
    assert fim_query("def f(", "\n", "psm") == f"{FIM_PREFIX}def f({FIM_SUFFIX}\n{FIM_MIDDLE}"
    assert fim_query("def f(", "\n", "spm") == f"{FIM_PREFIX}{FIM_SUFFIX}\n{FIM_MIDDLE}def f("


def _subset(kind: str) -> dict[str, dict]:
    keep = set(list(PROBLEMS)[:SUBSET_PROBLEMS])
    return {k: t for k, t in infilling_problems(PROBLEMS, kind).items() if t["source_task_id"] in keep}


def _score(tmp_path, kind: str, completions: dict[str, str]) -> dict:
    samples = tmp_path / f"{kind}.jsonl"
    samples.write_text("".join(json.dumps({"task_id": t, "completion": c}) + "\n" for t, c in completions.items()))
    result = run_cli(
        "eval-samples", str(samples), "--task", f"humaneval-infilling-{kind}", "--k", "1",
        "--allow-code-execution", "--json", "--no-progress",
    )  # fmt: skip
    return json.loads(result.stdout)


@needs_sandbox
@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_the_removed_middle_put_back_passes_every_task(tmp_path, kind):
    tasks = _subset(kind)
    report = _score(tmp_path, kind, {task_id: task["middle"] for task_id, task in tasks.items()})
    assert report["problems"] == len(tasks) and report["pass_at_k"]["pass@1"] == 1.0
    assert report["exact_match"] == 1.0


@needs_sandbox
@pytest.mark.slow
def test_an_empty_middle_fails_where_the_removed_line_matters(tmp_path):
    tasks = _subset("single-line")
    report = _score(tmp_path, "single-line", dict.fromkeys(tasks, ""))
    statuses = {task_id: entry["statuses"][0] for task_id, entry in report["per_problem"].items()}
    # HumanEval/0's third line is `if idx != idx2:`: without it the block below is mis-indented
    assert statuses["HumanEval/0/single-line/2"] != "passed"
    assert statuses["HumanEval/0/single-line/5"] != "passed"  # `return True`
    assert report["pass_at_k"]["pass@1"] < 0.5 and report["exact_match"] == 0.0


@pytest.fixture(scope="module")
def fim_checkpoint(tmp_path_factory):
    """A tiny model that memorised the middles of HumanEval/0's first two single-line tasks."""
    tasks = list(infilling_problems(PROBLEMS, "single-line").values())[:3]
    tokenizer = tokenizer_for([p["prompt"] + p["canonical_solution"] for p in PROBLEMS.values()], 600)
    model = tiny_llama(tokenizer.get_vocab_size())
    memorise(model, tokenizer, [(fim_query(t["prompt"], t["suffix"]), t["middle"]) for t in tasks[:2]])
    folder = tmp_path_factory.mktemp("fim") / "step-000010"
    return save_checkpoint_folder(model, tokenizer, folder, step=10), tasks


def _eval_infilling(tmp_path, *source: str) -> tuple[dict, dict]:
    result = run_cli(
        "eval", *source, "--tasks", "humaneval-infilling-single-line", "--max-problems", "3",
        "--max-new-tokens", "48", "--out", str(tmp_path / "out"), "--allow-code-execution", "--json",
    )  # fmt: skip
    score = json.loads(result.stdout)["scores"]["humaneval-infilling-single-line"]
    samples = {row["task_id"]: row for row in map(json.loads, (tmp_path / "out" / "samples.jsonl").open())}
    return score, samples


@needs_sandbox
@pytest.mark.slow
def test_a_model_that_memorised_two_middles_fills_them_through_lighteval(fim_checkpoint, tmp_path):
    checkpoint, tasks = fim_checkpoint
    score, samples = _eval_infilling(tmp_path, str(checkpoint))
    assert score["problems"] == 3 and score["pass@1"] == pytest.approx(2 / 3)
    assert score["exact_match"] == pytest.approx(2 / 3, abs=1e-4)
    for task in tasks[:2]:
        assert samples[task["task_id"]]["status"] == "passed"
        assert samples[task["task_id"]]["completion"] == task["middle"]
    assert samples[tasks[2]["task_id"]]["status"] != "passed"


@needs_sandbox
@pytest.mark.slow
def test_infilling_through_an_endpoint_scores_like_the_checkpoint(fim_checkpoint, tmp_path):
    """The FIM prompt's special tokens travel as text over the TGI protocol and the server's
    tokenizer reads them back as the FIM tokens."""
    checkpoint, tasks = fim_checkpoint
    with served(checkpoint) as url:
        score, samples = _eval_infilling(tmp_path, "--endpoint", url)
    assert score["problems"] == 3 and score["pass@1"] == pytest.approx(2 / 3)
    assert [samples[t["task_id"]]["completion"] for t in tasks[:2]] == [t["middle"] for t in tasks[:2]]
