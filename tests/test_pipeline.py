"""The one-command release at small size: every stage runs and the summary names every artifact; a
stage that fails stops the run with its name, and the re-run resumes there, reusing the others."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bigcode_release.evaluate.sandbox import sandbox_available
from tests.conftest import CLI, REPO_ROOT, small_installed_recipe, tiny_train_recipe

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sandbox_available() is not None, reason=f"no sandbox: {sandbox_available()}"),
]


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
                "eval": {"tasks": "humaneval", "n": 1, "k": [1], "max_new_tokens": 8, "max_problems": 2},
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


def test_the_whole_release_runs_fails_by_stage_and_resumes(tmp_path):
    recipe = pipeline_recipe(tmp_path)
    out = tmp_path / "release"
    no_sandbox = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # the venv's bin: no bwrap there
    failed = run(recipe, out, no_sandbox)
    assert failed.returncode == 2 and "stage 'evaluate' failed: bubblewrap is not installed" in failed.stderr
    assert "run the same command again" in failed.stderr
    checkpoints_before = sorted(p.name for p in (out / "train" / "tiny-small" / "checkpoints").iterdir())

    resumed = run(recipe, out)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    stages = {s["name"]: s for s in json.loads(resumed.stdout)["stages"]}
    assert list(stages) == [
        "optout",
        "dataset",
        "index",
        "tokenizer",
        "tokenize",
        "train",
        "evaluate",
        "transparency",
        "publish",
    ]
    assert stages["dataset"]["reused"] and stages["index"]["reused"] and stages["tokenizer"]["reused"]
    assert stages["train"]["resumed_from"] == 4  # nothing retrained
    assert sorted(p.name for p in (out / "train" / "tiny-small" / "checkpoints").iterdir()) == checkpoints_before
    assert stages["optout"]["entries"] == 1 and stages["dataset"]["opted_out_files"] > 0
    assert [c["step"] for c in stages["evaluate"]["checkpoints"]] == [2, 4]
    assert stages["transparency"]["score"] >= 40
    plan = json.loads((out / "hub-trees" / "release-plan.json").read_text())
    assert {r["kind"] for r in plan["repos"]} == {"dataset", "optout-list", "model", "space"}
