"""Shared fixtures: recipes written from a base mapping, small real source trees."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]


pytest_plugins = ["tests.ci_guard"]  # a skip fails CI (scripts/test.sh sets BIGCODE_RELEASE_NO_SKIPS=1)


DEFAULT_RECIPE = REPO_ROOT / "recipes" / "the-stack-local.yaml"
CLI = [sys.executable, "-m", "bigcode_release.cli"]

# Installed distributions with well-known licenses, small enough for quick builds.
SMALL_DISTS = ["six", "idna", "pyyaml", "click", "attrs", "requests", "certifi", "tqdm", "packaging", "tld"]

MIT_TEXT = """MIT License

Copyright (c) 2024 Someone

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
"""

GPL3_HEAD = """                    GNU GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

 Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>
 Everyone is permitted to copy and distribute verbatim copies
 of this license document, but changing it is not allowed.
"""


def base_recipe() -> dict:
    """The default recipe as a mapping (so tests edit the real thing, not a copy of it)."""
    return yaml.safe_load(DEFAULT_RECIPE.read_text())


def write_recipe(folder: Path, changes: dict | None = None, name: str = "recipe.yaml") -> Path:
    """A recipe file: the default recipe with `changes` merged in (a value of None deletes a key)."""
    recipe = base_recipe()

    def merge(target: dict, update: dict) -> None:
        for key, value in update.items():
            if value is None:
                target.pop(key, None)
            elif isinstance(value, dict) and isinstance(target.get(key), dict) and key != "source":
                merge(target[key], value)
            else:
                target[key] = copy.deepcopy(value)

    merge(recipe, changes or {})
    path = Path(folder) / name
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def small_installed_recipe(folder: Path, **changes) -> Path:
    """The default recipe restricted to a few installed distributions, 2 tasks."""
    base = {
        "source": {"kind": "installed", "include": SMALL_DISTS, "exclude": [], "max_total_mb": None},
        "executor": {"tasks": 2, "workers": 2},
    }
    base.update(changes)
    return write_recipe(folder, base)


def run_cli(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=REPO_ROOT, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"CLI {args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def run_cli_json(*args: str) -> dict:
    return json.loads(run_cli(*args, "--json").stdout)


@pytest.fixture
def repo_folder(tmp_path: Path) -> Path:
    """A folder of five repository checkouts with license files, manifests and bad inputs."""
    return make_repo_folder(tmp_path)


def make_repo_folder(tmp_path: Path) -> Path:
    """The `repo_folder` fixture's folder, under `tmp_path` (for fixtures of a wider scope)."""
    root = tmp_path / "repos"
    mit = root / "alice" / "tools"
    (mit / "pkg").mkdir(parents=True)
    (mit / "LICENSE").write_text(MIT_TEXT)
    (mit / "pkg" / "core.py").write_text("def add(a, b):\n    return a + b\n\n\nclass Point:\n    x: int = 0\n")
    (mit / "pkg" / "util.js").write_text("export function twice(x) {\n  return 2 * x;\n}\n")
    (mit / "pkg" / "bad_utf8.py").write_bytes(b"name = 'caf\xe9'\nprint(name)\n")
    (mit / "pkg" / "binary.py").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)
    (mit / "pkg" / "empty.py").write_text("")
    (mit / "pkg" / "one_line.js").write_text("var x=" + "1+" * (25 * 1024 * 1024) + "1;")
    (mit / "notes.txt").write_text("not code\n")

    extras = root / "alice" / "extras"
    extras.mkdir(parents=True)
    (extras / "LICENSE").write_text(MIT_TEXT)
    (extras / "extras.py").write_text("def double(x):\n    return 2 * x\n")

    gpl = root / "bob" / "engine"
    gpl.mkdir(parents=True)
    (gpl / "COPYING").write_text(GPL3_HEAD)
    (gpl / "engine.c").write_text('#include <stdio.h>\nint main(void) {\n  puts("hi");\n  return 0;\n}\n')

    apache = root / "Carol" / "web"
    apache.mkdir(parents=True)
    (apache / "package.json").write_text(json.dumps({"name": "web", "license": "Apache-2.0"}))
    (apache / "index.ts").write_text("export const greet = (name: string): string => `hello ${name}`;\n")

    unlicensed = root / "dave" / "scripts"
    unlicensed.mkdir(parents=True)
    (unlicensed / "run.sh").write_text("#!/bin/sh\necho running\n")
    return root


def folder_recipe(folder: Path, repos: Path, **changes) -> Path:
    base = {
        "source": {"kind": "folder", "path": str(repos), "layout": "owner/name"},
        "executor": {"tasks": 2, "workers": 1},
    }
    base.update(changes)
    return write_recipe(folder, base)


@pytest.fixture(scope="session")
def tokenized_release(tmp_path_factory) -> Path:
    """A release with a small dataset (a few installed distributions), a 600-token tokenizer and
    tokenized train/validation shards: what the model-side stages read."""
    from bigcode_release.data.build import build_dataset
    from bigcode_release.optout.export import export_optouts
    from bigcode_release.optout.registry import OptOutRegistry
    from bigcode_release.tokenizer.shards import tokenize_dataset
    from bigcode_release.tokenizer.training import train_tokenizer

    folder = tmp_path_factory.mktemp("model-side")
    release = folder / "release"
    # an approved request for an account with no code here, exported and applied by the build (the
    # maintainers' registry lives outside the release)
    with OptOutRegistry(folder / "registry.sqlite") as registry:
        request = registry.submit("octocat", client="tests")
        registry.approve(request.id, by="maintainer")
        exported = export_optouts(registry, release / "optout")
    build_dataset(small_installed_recipe(folder, optout={"list": str(exported.jsonl)}), release, show_progress=False)
    train_tokenizer(release, vocab_size=600, sample_mb=1, progress=False)
    tokenize_dataset(release, validation_fraction=0.05, show_progress=False)
    return release


def tiny_train_recipe(folder: Path, release: Path, **changes) -> Path:
    """A training recipe for a very small model over `release` (seconds per run on 2 cores)."""
    recipe = {
        "name": "tiny-test",
        "model": {
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "intermediate_size": 128,
            "max_position_embeddings": 256,
        },
        "batch": {"sequence_length": 64, "micro_batch_size": 4, "gradient_accumulation": 1, "train_steps": 12},
        "optimizer": {"learning_rate": 0.01, "min_learning_rate": 0.001, "warmup_steps": 2},
        "data": {"release": str(release)},
        "checkpoints": {"interval": 6},
        "validation": {"interval": 6, "batches": 4},
        "torch": {"threads": 1},
    }
    for section, values in changes.items():
        if isinstance(values, dict) and isinstance(recipe.get(section), dict):
            recipe[section] = {**recipe[section], **values}
        else:
            recipe[section] = values
    path = Path(folder) / f"{recipe['name']}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def publishable_release(tokenized_release, tmp_path_factory) -> Path:
    """The small model-side release (with its opt-out export), plus a 6-step training run and an eval result."""
    from bigcode_release.train.recipe import load_train_recipe
    from bigcode_release.train.torch_engine import train_torch

    root = tmp_path_factory.mktemp("to-publish") / "release"
    shutil.copytree(tokenized_release, root, symlinks=True)
    recipe = load_train_recipe(tiny_train_recipe(root.parent, root, batch={"train_steps": 6}))
    train_torch(recipe, show_progress=False)
    from bigcode_release.evaluate.sandbox import SandboxLimits, sandbox_available

    if sandbox_available() is None:  # without bubblewrap the release simply has no evaluation
        from bigcode_release.evaluate.runner import EvalSettings, default_output_dir, evaluate_checkpoint
        from bigcode_release.evaluate.tasks import resolve_tasks

        checkpoint = root / "train" / "tiny-test" / "checkpoints" / "step-000006"
        evaluate_checkpoint(
            checkpoint,
            EvalSettings(
                tasks=tuple(resolve_tasks("humaneval")), max_problems=2, max_new_tokens=8, limits=SandboxLimits()
            ),
            default_output_dir(checkpoint),
            allow_code_execution=True,
            show_progress=False,
        )
    return root
