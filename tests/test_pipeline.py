"""The one-command release at small size, as a contributor and a maintainer check it:

- every stage runs and the summary names every artifact; a stage that fails stops the run with
  its name, and the re-run resumes there, reusing the others;
- an opt-out approved after a release is gone from every artifact of the next one: the re-run
  cuts the next dataset version, the owner's files are absent from its data (Parquet), its search
  and membership indexes and its tokenized shards (read with datatrove's reader), its training
  run names that version's data, the request is applied with a receipt whose checks passed, and
  the older version hides the owner at query time; a push is refused while the request waits;
- a finished release copied to another folder is reused stage by stage.

Absence is checked here on the artifacts themselves, not through the receipt.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.conftest import CLI, REPO_ROOT, run_cli, run_cli_json, small_installed_recipe, tiny_train_recipe

pytestmark = pytest.mark.slow

# six.py's docstring: in benjaminp/six and nowhere else among the small recipe's distributions
SIX_MARKER = "Utilities for writing code that runs on Python 2 and 3"


def pipeline_recipe(folder: Path) -> Path:
    dataset = small_installed_recipe(folder)
    train = tiny_train_recipe(folder, folder / "unused")
    path = folder / "release-small.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "dataset_recipe": dataset.name,
                "dataset_version": "v1.1",
                "sample_optout": {"owner": "pallets", "message": "test"},
                "tokenizer": {"vocab_size": 600, "sample_mb": 1},
                "train_recipe": train.name,
                "train_overrides": {
                    "name": "tiny-small",
                    "batch": {"train_steps": 4},
                    "checkpoints": {"interval": 2},
                    "validation": {"interval": 2, "batches": 1},
                },
                "eval": {
                    "tasks": "humaneval,humaneval-bpb,heldout-bpb",
                    "n": 1,
                    "k": [1],
                    "max_new_tokens": 8,
                    "max_problems": 2,
                    "allow_code_execution": True,
                },
                "release": {"org": "local", "to_dir": "hub-trees"},
            }
        )
    )
    return path


def run(recipe: Path, out: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, "release", "run", str(recipe), "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=1200,
    )


def stages_of(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    return {s["name"]: s for s in json.loads(result.stdout)["stages"]}


def shard_texts(tokenized: Path, tokenizer_dir: Path) -> str:
    """Every token of a version's shards, read with datatrove's own reader and decoded."""
    from datatrove.utils.dataset import DatatroveFileDataset
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    texts = []
    for shard in sorted(tokenized.glob("*/*.ds")):
        tokens = shard.stat().st_size // 2
        window = DatatroveFileDataset(str(shard), seq_len=tokens - 1, token_size=2)[0]["input_ids"]
        assert len(window) == tokens
        texts.append(tokenizer.decode(window.tolist(), skip_special_tokens=False))
    return "\n".join(texts)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A small release (v1.1 applies the sample opt-out of pallets)."""
    folder = tmp_path_factory.mktemp("release-run")
    recipe, out = pipeline_recipe(folder), folder / "release"
    first = stages_of(run(recipe, out))
    return recipe, out, first


def test_the_whole_release_runs_and_names_every_artifact(released):
    _, out, stages = released
    assert list(stages) == [
        "optout",
        "dataset",
        "index",
        "tokenizer",
        "tokenize",
        "receipts",
        "train",
        "evaluate",
        "transparency",
        "publish",
    ]
    assert stages["dataset"]["version"] == "v1.1" and stages["dataset"]["opted_out_files"] > 0
    assert stages["optout"]["entries"] == 1 and list(stages["receipts"]["applied"])
    assert [c["step"] for c in stages["evaluate"]["checkpoints"]] == [2, 4]
    assert all(c["scores"]["humaneval-bpb"]["bits_per_byte"] > 0 for c in stages["evaluate"]["checkpoints"])
    assert all(c["scores"]["heldout-bpb"]["per_language"] for c in stages["evaluate"]["checkpoints"])
    cards = [p.read_text() for p in (out / "hub-trees").rglob("README.md")]
    assert any("| humaneval-bpb | 2 |" in card for card in cards)  # the model card's likelihood table
    assert stages["transparency"]["score"] >= 40
    plan = json.loads((out / "hub-trees" / "release-plan.json").read_text())
    assert {r["kind"] for r in plan["repos"]} == {"dataset", "optout-list", "model", "space", "optout-intake"}
    assert plan["inputs"]["dataset_version"] == "v1.1"
    space = next(r for r in plan["repos"] if r["kind"] == "space")  # a tree that installs on the Hub
    assert {"requirements.txt", "wheels/bigcode_release-0.1.0-py3-none-any.whl"} <= {f["path"] for f in space["files"]}


def test_an_approved_optout_is_gone_from_every_artifact_of_the_next_release(released, tmp_path):
    recipe, out, _ = released
    before = {r["repo_name"]: r for r in pq.read_table(out / "dataset" / "repos.parquet").to_pylist()}
    assert before["benjaminp/six"]["included"] and before["benjaminp/six"]["kept_files"] > 0
    registry = str(out / "optout.sqlite")
    request = run_cli_json("optout", "submit", "benjaminp", "--registry", registry)
    run_cli("optout", "approve", request["id"], "--by", "maintainer", "--registry", registry)

    refused = run_cli("release", "push", str(out), "--org", "local", "--to-dir", str(tmp_path / "trees"), check=False)
    assert refused.returncode == 2 and request["id"] in refused.stderr and "not applied" in refused.stderr

    stages = stages_of(run(recipe, out))
    assert stages["dataset"]["version"] == "v1.2" and not stages["dataset"]["reused"]
    assert any(request["id"] in why and "benjaminp" in why for why in stages["dataset"]["new_version_because"])
    assert stages["tokenizer"]["reused"] and stages["tokenizer"]["sample_from"] == "v1.1"
    v12 = out / "dataset-versions" / "v1.2"
    manifest = json.loads((v12 / "manifest.json").read_text())

    # the data
    rows = pq.read_table(v12 / "data", columns=["repo_name", "owner", "content"]).to_pylist()
    assert rows and not [r for r in rows if r["owner"].lower() == "benjaminp" or SIX_MARKER in r["content"]]
    v11_rows = pq.read_table(out / "dataset-versions" / "v1.1" / "data", columns=["content"]).column("content")
    assert any(SIX_MARKER in text for text in v11_rows.to_pylist()), "v1.1 holds six (versions are kept)"
    repos = {r["repo_name"]: r for r in pq.read_table(v12 / "repos.parquet").to_pylist()}
    assert repos["benjaminp/six"]["drop_reason"] == "opted_out"
    assert repos["benjaminp/six"]["optout_request_id"] == request["id"]

    # the search index and the suffix arrays of v1.2
    found = run_cli_json("search", f'"{SIX_MARKER}"', "--release", str(out), "--version", "v1.2")
    assert found["dataset_version"] == "v1.2" and found["hits"] == []
    six_source = Path(__import__("six").__file__).read_text()
    query = tmp_path / "six.py"
    query.write_text(six_source)
    spans = run_cli_json("membership", "query", str(query), "--release", str(out), "--version", "v1.2")
    assert not [s for span in spans["spans"] for s in span["sources"] if s["repo"] == "benjaminp/six"]
    assert spans["covered_chars"] < len(six_source) // 2
    # the older version still holds it, and hides it at query time
    older = run_cli_json("search", f'"{SIX_MARKER}"', "--release", str(out), "--version", "v1.1")
    assert older["hits"] == [] and older["hidden"] >= 1
    older_spans = run_cli_json("membership", "query", str(query), "--release", str(out), "--version", "v1.1")
    assert older_spans["hidden"] > 0 and "opted out after v1.1" in older_spans["hidden_note"]
    assert not [s for span in older_spans["spans"] for s in span["sources"] if s["repo"] == "benjaminp/six"]

    # the tokenized shards, read with datatrove
    tokenized = out / "tokenized" / "v1.2"
    assert (
        json.loads((tokenized / "manifest.json").read_text())["inputs"]["dataset_manifest_hash"]
        == manifest["manifest_hash"]
    )
    decoded = shard_texts(tokenized, out / "tokenizer")
    assert decoded and SIX_MARKER not in decoded
    assert SIX_MARKER in shard_texts(out / "tokenized" / "v1.1", out / "tokenizer")

    # the model trained for this release used that version's data, and only it is published
    run_manifest = json.loads((Path(stages["train"]["run_dir"]) / "manifest.json").read_text())
    assert run_manifest["inputs"]["dataset_manifest_hash"] == manifest["manifest_hash"]
    assert stages["train"]["resumed_from"] == 0
    plan = json.loads((out / "hub-trees" / "release-plan.json").read_text())
    assert [r["repo_id"] for r in plan["repos"] if r["kind"] == "model"] == ["local/tiny-small-v1.2"]
    tags = {r["tag"]: r["tag_message"] for r in plan["repos"] if r["kind"] == "dataset"}
    assert set(tags) == {"v1.2"} and request["id"] in tags["v1.2"]  # v1.1 still holds six: not published
    assert request["id"] in plan["dataset_versions_left_out"]["v1.1"]

    # the request: applied in v1.2 with a receipt whose checks passed
    status = run_cli_json("optout", "status", request["id"], "--registry", registry)
    assert status["status"] == "applied" and status["first_version"] == "v1.2"
    receipt = status["receipt"]
    assert receipt["verified"] and receipt["dataset_version"] == "v1.2"
    assert {c["name"] for c in receipt["checks"]} == {"data", "repos", "search", "membership", "tokenized"}
    assert receipt["removed"]["files"] >= before["benjaminp/six"]["kept_files"]
    from bigcode_release.optout.service import InTheStackService, intake_for

    shown = InTheStackService(out, intake_for(out, registry)).status(request["id"])  # what the Space answers
    assert "Removed in v1.2 on" in shown and "verified absent from the data, search, membership" in shown
    assert f"| {request['id']} | benjaminp |" in (v12 / "README.md").read_text()  # the card lists it

    # nothing left to apply: the next run reuses every stage
    again = stages_of(run(recipe, out))
    assert again["dataset"]["version"] == "v1.2" and again["dataset"]["reused"]
    assert again["train"]["resumed_from"] == 4


def test_a_copied_release_reuses_every_stage(released, tmp_path):
    recipe, out, _ = released
    copy = tmp_path / "elsewhere" / "release"
    shutil.copytree(out, copy, symlinks=True, copy_function=shutil.copyfile)  # new mtimes, as `cp -r`
    version = os.path.basename(os.path.realpath(out / "dataset"))
    hashes = {
        name: json.loads((out / name / "manifest.json").read_text())["manifest_hash"]
        for name in (f"dataset-versions/{version}", f"index/{version}", "tokenizer", f"tokenized/{version}")
    }
    stages = stages_of(run(recipe, copy))
    assert stages["dataset"]["reused"] and stages["dataset"]["version"] == version
    assert stages["index"]["reused"] and stages["tokenizer"]["reused"] and stages["tokenize"]["reused"]
    assert stages["train"]["resumed_from"] == stages["train"]["steps"]
    assert [c["step"] for c in stages["evaluate"]["checkpoints"]] == [2, 4]
    series = json.loads((Path(stages["train"]["run_dir"]) / "eval" / "series.json").read_text())
    assert all(c["reused"] for c in series["checkpoints"])
    for name, before in hashes.items():
        assert json.loads((copy / name / "manifest.json").read_text())["manifest_hash"] == before, name
    metadata = next((copy / "tokenized" / version / "train").glob("*.ds.metadata")).read_text()
    assert metadata.startswith(str((copy / "tokenizer").resolve()))


def test_a_failing_stage_is_named_and_the_rerun_resumes_there(tmp_path):
    recipe = pipeline_recipe(tmp_path)
    out = tmp_path / "release"
    no_sandbox = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # the venv's bin: no bwrap there
    failed = run(recipe, out, no_sandbox)
    assert failed.returncode == 2 and "stage 'evaluate' failed: bubblewrap is not installed" in failed.stderr
    assert "run the same command again" in failed.stderr
    run_dir = out / "train" / "tiny-small-v1.1"
    checkpoints_before = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    stages = stages_of(run(recipe, out))
    assert stages["dataset"]["reused"] and stages["index"]["reused"] and stages["tokenizer"]["reused"]
    assert stages["train"]["resumed_from"] == 4  # nothing retrained
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == checkpoints_before
    assert [c["step"] for c in stages["evaluate"]["checkpoints"]] == [2, 4]
