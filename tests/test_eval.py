"""Checkpoint evaluation through lighteval: a tiny model that memorised three solutions scores
exactly 3/5 greedily, a checkpoint series is plotted and reused, sampling gives n distinct samples,
it all runs with the network off, and bad settings are refused before any work."""

from __future__ import annotations

import json
import math
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from bigcode_release.errors import BenchmarkFileError, CodeExecutionError, EvaluationError
from bigcode_release.evaluate.problems import read_problems
from bigcode_release.evaluate.runner import EvalSettings, evaluate_checkpoint, evaluate_series
from bigcode_release.evaluate.sandbox import SandboxLimits, sandbox_available
from bigcode_release.evaluate.tasks import resolve_tasks
from tests.conftest import CLI, REPO_ROOT, run_cli
from tests.serving import served
from tests.tiny_models import memorise, save_checkpoint_folder, tiny_llama, tokenizer_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sandbox_available() is not None, reason=f"no sandbox: {sandbox_available()}"),
]

PROBLEMS = read_problems()
BY_SIZE = sorted(PROBLEMS.values(), key=lambda p: len(p["prompt"]) + len(p["canonical_solution"]))
MEMORISED = BY_SIZE[:3]
UNSEEN = BY_SIZE[3:5]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A run folder with two checkpoints: step 0 (untrained) and step 50 (three solutions memorised),
    and a five-problem JSONL task (the three memorised problems and two others)."""
    root = tmp_path_factory.mktemp("eval-run")
    tokenizer = tokenizer_for([p["prompt"] + p["canonical_solution"] for p in PROBLEMS.values()], 600)
    model = tiny_llama(tokenizer.get_vocab_size())
    save_checkpoint_folder(model, tokenizer, root / "checkpoints" / "step-000000", step=0)
    memorise(model, tokenizer, [(p["prompt"].strip(), "\n" + p["canonical_solution"]) for p in MEMORISED])
    save_checkpoint_folder(model, tokenizer, root / "checkpoints" / "step-000050", step=50)
    with open(root / "five.jsonl", "w", encoding="utf-8") as handle:
        for problem in MEMORISED + UNSEEN:
            handle.write(json.dumps(problem) + "\n")
    return root


def settings(run_dir: Path, **changes) -> EvalSettings:
    base = dict(
        tasks=tuple(resolve_tasks(str(run_dir / "five.jsonl"))),
        max_new_tokens=96,
        limits=SandboxLimits(wall_seconds=5.0, cpu_seconds=6),
    )
    return EvalSettings(**{**base, **changes})


def test_a_model_that_memorised_three_of_five_solutions_scores_exactly_0_6(run_dir, tmp_path):
    result = run_cli(
        "eval",
        str(run_dir / "checkpoints" / "step-000050"),
        "--tasks",
        str(run_dir / "five.jsonl"),
        "--max-new-tokens",
        "96",
        "--timeout",
        "5",
        "--out",
        str(tmp_path / "out"),
        "--json",
        "--allow-code-execution",
    )
    report = json.loads(result.stdout)
    assert report["scores"] == {
        "jsonl-five": {
            "problems": 5,
            "samples": 5,
            "pass@1": pytest.approx(0.6),
            # the standard error of the mean of five per-problem scores (three 1s, two 0s)
            "pass@1_stderr": pytest.approx(statistics.stdev([1, 1, 1, 0, 0]) / math.sqrt(5), abs=1e-4),
        }
    }
    assert report["settings"]["greedy"] and report["settings"]["sandbox"]["wall_seconds"] == 5.0
    samples = {row["task_id"]: row for row in map(json.loads, (tmp_path / "out" / "samples.jsonl").open())}
    for problem in MEMORISED:  # the completion is the canonical solution, cut where the harness cuts
        assert samples[problem["task_id"]]["status"] == "passed"
        assert samples[problem["task_id"]]["completion"].strip() == problem["canonical_solution"].strip()
    assert {samples[p["task_id"]]["status"] for p in UNSEEN} == {"failed"}
    assert "| jsonl-five | 5 | 1 | 0.6000 |" in (tmp_path / "out" / "results.md").read_text()
    lighteval_results = list((tmp_path / "out" / "lighteval" / "results").rglob("results_*.json"))
    assert json.loads(lighteval_results[0].read_text())["results"]["jsonl-five|0"]["pass@1"] == pytest.approx(0.6)


def test_a_series_is_scored_in_step_order_plotted_and_reused(run_dir, tmp_path):
    series = evaluate_series(
        run_dir, settings(run_dir), tmp_path / "eval", allow_code_execution=True, show_progress=False
    )
    assert [(r.step, r.scores["jsonl-five"]["pass@1"]) for r in series.checkpoints] == [
        (0, 0.0),
        (50, pytest.approx(0.6)),
    ]
    assert Path(series.plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "eval" / "series.json").read_text())["plot"] == series.plot
    again = evaluate_series(
        run_dir, settings(run_dir), tmp_path / "eval", allow_code_execution=True, show_progress=False
    )
    assert all(r.reused for r in again.checkpoints)
    changed = evaluate_checkpoint(
        run_dir / "checkpoints" / "step-000000",
        settings(run_dir, max_new_tokens=64),
        tmp_path / "eval" / "step-000000",
        allow_code_execution=True,
        show_progress=False,
    )
    assert not changed.reused  # other settings: evaluated again


def test_sampling_gives_n_samples_per_problem_and_pass_at_k_for_each_k(run_dir, tmp_path):
    result = evaluate_checkpoint(
        run_dir / "checkpoints" / "step-000000",
        settings(run_dir, n=3, ks=(1, 3), temperature=1.0, max_new_tokens=24),
        tmp_path,
        allow_code_execution=True,
        show_progress=False,
    )
    score = result.scores["jsonl-five"]
    assert score["samples"] == 15 and set(score) >= {"pass@1", "pass@3"}
    assert result.settings["temperature"] == 1.0 and result.settings["top_p"] == 0.95
    rows = [json.loads(line) for line in (tmp_path / "samples.jsonl").open()]
    by_problem: dict[str, list[str]] = {}
    for row in rows:
        by_problem.setdefault(row["task_id"], []).append(row["completion"])
    assert all(len(texts) == 3 for texts in by_problem.values())
    assert any(len(set(texts)) > 1 for texts in by_problem.values())  # sampled, not greedy


def test_the_humaneval_task_reads_the_packaged_problems(run_dir, tmp_path):
    result = evaluate_checkpoint(
        run_dir / "checkpoints" / "step-000050",
        settings(run_dir, tasks=tuple(resolve_tasks("humaneval")), max_problems=2, max_new_tokens=16),
        tmp_path,
        allow_code_execution=True,
        show_progress=False,
    )
    assert result.scores["humaneval"]["problems"] == 2
    import torch

    assert torch.is_grad_enabled()  # lighteval's model set-up turns autograd off; we turn it back on
    ids = {json.loads(line)["task_id"] for line in (tmp_path / "samples.jsonl").open()}
    assert ids == {"HumanEval/0", "HumanEval/1"}


def test_an_endpoint_scores_like_the_local_checkpoint(run_dir, tmp_path):
    with served(run_dir / "checkpoints" / "step-000050") as url:
        result = run_cli(
            "eval",
            "--endpoint",
            url,
            "--tasks",
            str(run_dir / "five.jsonl"),
            "--max-new-tokens",
            "96",
            "--timeout",
            "5",
            "--out",
            str(tmp_path / "remote"),
            "--json",
            "--allow-code-execution",
        )
    remote = json.loads(result.stdout)
    assert remote["scores"]["jsonl-five"]["pass@1"] == pytest.approx(0.6)
    assert (
        remote["generator"]["backend"].startswith("TGI endpoint") and remote["generator"]["model_id"] == "step-000050"
    )
    local = evaluate_checkpoint(
        run_dir / "checkpoints" / "step-000050",
        settings(run_dir),
        tmp_path / "local",
        allow_code_execution=True,
        show_progress=False,
    )
    completions = [
        {json.loads(line)["task_id"]: json.loads(line)["completion"] for line in (folder / "samples.jsonl").open()}
        for folder in (tmp_path / "remote", tmp_path / "local")
    ]
    assert completions[0] == completions[1] and local.scores["jsonl-five"]["pass@1"] == pytest.approx(0.6)


def _network_off_prefix() -> list[str] | None:
    for prefix in (["unshare", "--net"], ["unshare", "--user", "--map-root-user", "--net"]):
        if shutil.which(prefix[0]) and subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    return None


@pytest.mark.skipif(_network_off_prefix() is None, reason="cannot create a network namespace here (unshare)")
def test_the_evaluation_runs_with_the_network_off(run_dir, tmp_path):
    probe = subprocess.run(
        [
            *_network_off_prefix(),
            sys.executable,
            "-c",
            "import socket; socket.create_connection(('huggingface.co', 443), timeout=3)",
        ],
        capture_output=True,
        text=True,
    )
    assert probe.returncode != 0  # really no network in there
    result = subprocess.run(
        [
            *_network_off_prefix(),
            *CLI,
            "eval",
            str(run_dir / "checkpoints" / "step-000050"),
            "--tasks",
            f"humaneval,{run_dir / 'five.jsonl'}",
            "--max-problems",
            "5",
            "--max-new-tokens",
            "96",
            "--timeout",
            "5",
            "--out",
            str(tmp_path),
            "--json",
            "--allow-code-execution",
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    scores = json.loads(result.stdout)["scores"]
    assert scores["jsonl-five"]["pass@1"] == pytest.approx(0.6) and scores["humaneval"]["problems"] == 5


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"n": 2, "ks": (1, 5)}, "every k must be between 1 and n=2"),
        ({"n": 4, "ks": (1,), "temperature": 0.0}, "need --temperature above 0"),
        ({"ks": ()}, "every k must be between"),
        ({"top_p": 1.5}, "--top-p"),
    ],
)
def test_contradictory_settings_are_refused(run_dir, changes, message):
    with pytest.raises(EvaluationError, match=message):
        settings(run_dir, **changes)


def test_bad_inputs_get_clear_errors_before_any_work(run_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_ALLOW_CODE_EVAL", raising=False)
    with pytest.raises(CodeExecutionError, match="--allow-code-execution"):
        evaluate_checkpoint(run_dir / "checkpoints" / "step-000050", settings(run_dir), tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvaluationError, match="missing config.json, model weights"):
        evaluate_checkpoint(tmp_path / "empty", settings(run_dir), tmp_path / "o", allow_code_execution=True)
    with pytest.raises(
        BenchmarkFileError, match="task 'mbpp': not one of humaneval, humaneval-unstripped, humaneval-bpb"
    ):
        resolve_tasks("mbpp")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"task_id": "x", "prompt": "def f():"}\n')
    with pytest.raises(BenchmarkFileError, match=r"broken.jsonl line 1: missing field\(s\) \['entry_point', 'test'\]"):
        resolve_tasks(str(broken))
    result = run_cli("eval", str(run_dir), "--series", "--n", "2", "--k", "1,3", "--allow-code-execution", check=False)
    assert result.returncode == 2 and "every k must be between 1 and n=2" in result.stderr
    with pytest.raises(EvaluationError, match=r"endpoint http://127\.0\.0\.1:9/: no TGI /info answer"):
        evaluate_checkpoint(
            None, settings(run_dir), tmp_path / "e", endpoint="http://127.0.0.1:9/", allow_code_execution=True
        )
    assert not (tmp_path / "o").exists() and not (tmp_path / "e" / "results.json").exists()


def test_bits_per_byte_of_the_canonical_solutions_falls_as_the_model_learns_them(run_dir, tmp_path):
    """No code runs: no opt-in needed. The memorised checkpoint predicts the solutions it learnt
    far better than the untrained one; the corpus ratio is total bits over total bytes."""
    result = run_cli(
        "eval", str(run_dir / "checkpoints"), "--series", "--tasks", f"humaneval-bpb,{run_dir / 'five.jsonl'}",
        "--max-new-tokens", "8", "--out", str(tmp_path / "series"), "--json", "--allow-code-execution",
    )  # fmt: skip
    report = json.loads(result.stdout)
    scores = [c["scores"]["humaneval-bpb"] for c in report["checkpoints"]]
    assert {s["problems"] + s["skipped_longer_than_context"] for s in scores} == {164}  # the same problems
    assert scores[0]["problems"] == scores[1]["problems"] > 150
    rows = [
        {r["task_id"]: r for r in map(json.loads, (tmp_path / "series" / step / "likelihoods.jsonl").open())}
        for step in ("step-000000", "step-000050")
    ]
    for problem in MEMORISED:  # learnt by heart: a small fraction of the untrained model's bits
        before, after = (r[problem["task_id"]] for r in rows)
        assert after["bits"] / after["bytes"] < 0.2 * before["bits"] / before["bytes"]
        scored = problem["prompt"][len(problem["prompt"].rstrip()) :] + problem["canonical_solution"]
        assert before["bytes"] == len(scored.encode())  # the prompt's trailing newline is scored and counted
    for score, per_problem in zip(scores, rows):  # the corpus ratio: total bits over total bytes
        bits, nbytes = sum(r["bits"] for r in per_problem.values()), sum(r["bytes"] for r in per_problem.values())
        assert score["bits_per_byte"] == pytest.approx(bits / nbytes, abs=1e-4)
        assert score["loglik_per_token"] < 0
    assert (tmp_path / "series" / "bits_per_byte.png").stat().st_size > 0
    assert "| humaneval-bpb | 164 |" in (tmp_path / "series" / "step-000050" / "results.md").read_text()
    only = run_cli(
        "eval", str(run_dir / "checkpoints" / "step-000050"), "--tasks", "humaneval-bpb", "--max-problems", "4",
        "--out", str(tmp_path / "one"), "--json",
    )  # fmt: skip
    rows = json.loads(only.stdout)["scores"]["humaneval-bpb"]
    assert rows["problems"] == 4 and rows["bits_per_byte"] > 0


def test_the_heldout_sample_is_validation_files_per_language_pinned_by_id(run_dir, tokenized_release, tmp_path):
    from bigcode_release.manifest import read_manifest
    from bigcode_release.tokenizer.steps import in_validation

    tokenized = next((tokenized_release / "tokenized").iterdir())
    parameters = read_manifest(tokenized)["parameters"]
    (task,) = resolve_tasks(f"heldout-bpb={tokenized}")
    problems = task.problems()
    from bigcode_release.evaluate.likelihood import heldout_problems

    assert problems and problems == heldout_problems.__wrapped__(tokenized)  # recomputed: the same files
    for doc_id, problem in problems.items():  # validation documents only: in no training shard
        assert in_validation(doc_id, parameters["validation_fraction"], parameters["seed"])
        assert problem["canonical_solution"].strip()
    per_language: dict[str, int] = {}
    for problem in problems.values():
        per_language[problem["language"]] = per_language.get(problem["language"], 0) + 1
    assert max(per_language.values()) <= 4
    result = run_cli(
        "eval", str(run_dir / "checkpoints" / "step-000000"), "--tasks", f"heldout-bpb={tokenized}",
        "--out", str(tmp_path / "heldout"), "--json",
    )  # fmt: skip
    score = json.loads(result.stdout)["scores"]["heldout-bpb"]
    assert score["problems"] + score["skipped_longer_than_context"] == len(problems)
    assert score["bits_per_byte"] > 0 and set(score["per_language"]) <= set(per_language)
    with pytest.raises(BenchmarkFileError, match="not a folder written by `bigcode-release tokenize`"):
        resolve_tasks(f"heldout-bpb={tmp_path}")
