"""End-to-end dataset builds: accounting, bad inputs, opt-out, versions, determinism, resume."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import CLI, REPO_ROOT, folder_recipe, run_cli, run_cli_json, small_installed_recipe, write_recipe
from huggingface_hub import DatasetCard

from bigcode_release.manifest import sha256_file
from bigcode_release.optout.export_format import OptOutEntry, write_optout_list

pytestmark = pytest.mark.slow


def build(recipe: Path, out: Path) -> dict:
    return run_cli_json("dataset", "build", str(recipe), "--out", str(out))


def ledger_reasons(version_dir: Path) -> dict[str, str]:
    """`<repo_name>/<path>` -> drop reason, from the build's drop ledgers."""
    import duckdb

    rows = duckdb.sql(
        f"SELECT repo_name || '/' || path p, reason FROM read_json('{version_dir}/work/dropped/*/*.jsonl.gz')"
    ).fetchall()
    return dict(rows)


def kept_ids(version_dir: Path) -> set[str]:
    return set(pq.read_table(version_dir / "data", columns=["id"]).column("id").to_pylist())


def assert_books_balance(stats: dict) -> None:
    previous = None
    for step in stats["steps"]:
        if "kept" in step:
            assert step["in"] == step["kept"] + sum(step["dropped"].values()), step
            assert previous is None or step["in"] == previous, step
            previous = step["kept"]
        elif "out" in step:
            previous = step["out"]
        else:
            assert step["in"] == previous
    assert stats["accounting_ok"] is True


@pytest.fixture(scope="module")
def embedded_build(tmp_path_factory):
    folder = tmp_path_factory.mktemp("embedded")
    result = build(small_installed_recipe(folder), folder / "release")
    return result, Path(result["version_dir"])


def test_embedded_build_books_balance_for_every_step(embedded_build):
    result, version_dir = embedded_build
    stats = json.loads((version_dir / "stats.json").read_text())
    assert_books_balance(stats)
    assert stats["totals"]["kept_files"] > 100
    dropped = sum(sum(s["dropped"].values()) for s in stats["steps"] if "kept" in s)
    assert stats["totals"]["input_files"] == len(kept_ids(version_dir)) + dropped


def test_embedded_build_drops_copyleft_and_keeps_permissive_repos(embedded_build):
    _, version_dir = embedded_build
    repos = {r["repo_name"]: r for r in pq.read_table(version_dir / "repos.parquet").to_pylist()}
    tld = next(r for name, r in repos.items() if name.endswith("/tld"))
    assert not tld["included"] and tld["drop_reason"] == "non_permissive_license"
    six = repos["benjaminp/six"]
    assert six["included"] and six["license"] == "MIT" and six["kept_files"] >= 1
    owners = [r["owner"].lower() for r in pq.read_table(version_dir / "repos.parquet").to_pylist()]
    assert owners == sorted(owners), "repos.parquet is sorted by lowercased owner"


def test_embedded_build_loads_with_datasets_and_has_the_documented_columns(embedded_build):
    import datasets

    _, version_dir = embedded_build
    loaded = datasets.load_dataset(
        "parquet", data_dir=str(version_dir.parent.parent / "dataset" / "data"), split="train"
    )
    assert set(loaded.column_names) >= {
        "content",
        "path",
        "repo_name",
        "owner",
        "licenses",
        "license_source",
        "language",
        "size",
        "stars",
        "forks",
    }
    row = loaded[0]
    assert row["content"] and row["repo_name"].count("/") == 1 and row["licenses"]


def test_embedded_build_writes_card_plots_and_a_manifest_that_matches_the_files(embedded_build):
    _, version_dir = embedded_build
    card = DatasetCard.load(version_dir / "README.md")
    assert card.data.extra_gated_fields["Email"] == "text"
    assert "Terms of Use" in card.data.extra_gated_prompt
    assert "## Licenses" in card.text and "## Opt-out" in card.text
    for plot in ("licenses.png", "languages.png", "drop_reasons.png"):
        assert (version_dir / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads((version_dir / "manifest.json").read_text())
    assert manifest["outputs"], "outputs are listed"
    for output in manifest["outputs"]:
        assert sha256_file(version_dir / output["path"]) == output["sha256"]
    assert manifest["tools"]["datatrove"].startswith("0.10")


def test_stats_command_prints_tables_and_json(embedded_build):
    _, version_dir = embedded_build
    release = version_dir.parent.parent
    text = run_cli("dataset", "stats", str(release / "dataset")).stdout
    assert "what each step kept and dropped" in text and "licenses" in text
    assert run_cli_json("dataset", "stats", str(release))["version"] == "v1.0"


def test_folder_build_handles_bad_inputs_each_with_its_reason(tmp_path, repo_folder):
    result = build(folder_recipe(tmp_path, repo_folder), tmp_path / "release")
    version_dir = Path(result["version_dir"])
    reasons = ledger_reasons(version_dir)
    assert reasons["alice/tools/pkg/bad_utf8.py"] == "invalid_utf8"
    assert reasons["alice/tools/pkg/binary.py"] == "binary"
    assert reasons["alice/tools/pkg/empty.py"] == "empty"
    assert reasons["alice/tools/pkg/one_line.js"] == "too_large"
    assert reasons["alice/tools/notes.txt"] == "unknown_language"
    assert reasons["bob/engine/engine.c"] == "non_permissive_license"
    assert reasons["dave/scripts/run.sh"] == "no_license"
    assert kept_ids(version_dir) == {
        "alice/tools/pkg/core.py",
        "alice/tools/pkg/util.js",
        "alice/extras/extras.py",
        "Carol/web/index.ts",
        "Carol/web/package.json",
    }
    assert_books_balance(json.loads((version_dir / "stats.json").read_text()))


def test_optout_removes_the_account_and_the_single_repo_and_nothing_else(tmp_path, repo_folder):
    release = tmp_path / "release"
    before = kept_ids(Path(build(folder_recipe(tmp_path, repo_folder), release)["version_dir"]))
    optouts = write_optout_list(
        [OptOutEntry("CAROL", "req-1"), OptOutEntry("alice", "req-2", repo="Alice/Tools")], tmp_path / "optout.jsonl"
    )
    recipe = folder_recipe(tmp_path, repo_folder, version="v1.1", optout={"list": str(optouts)})
    after_dir = Path(build(recipe, release)["version_dir"])
    after = kept_ids(after_dir)
    removed = before - after
    assert removed == {
        "alice/tools/pkg/core.py",
        "alice/tools/pkg/util.js",
        "Carol/web/index.ts",
        "Carol/web/package.json",
    }
    assert after == before - removed and "alice/extras/extras.py" in after
    repos = {r["repo_name"]: r for r in pq.read_table(after_dir / "repos.parquet").to_pylist()}
    assert repos["Carol/web"]["drop_reason"] == "opted_out" and repos["Carol/web"]["optout_request_id"] == "req-1"
    manifest = json.loads((after_dir / "manifest.json").read_text())
    assert manifest["inputs"]["optout"]["entries"] == 2
    assert manifest["inputs"]["optout"]["request_ids"] == ["req-1", "req-2"]
    # versions live side by side: v1.0 is untouched, the `dataset` link follows the newest
    assert kept_ids(release / "dataset-versions" / "v1.0") == before
    assert (release / "dataset").resolve() == after_dir.resolve()


def test_a_version_is_never_overwritten(tmp_path, repo_folder):
    release = tmp_path / "release"
    recipe = folder_recipe(tmp_path, repo_folder)
    first = build(recipe, release)
    again = build(recipe, release)
    assert again["reused"] and again["manifest_hash"] == first["manifest_hash"]
    changed = folder_recipe(tmp_path, repo_folder, quality={"max_file_bytes": 5000})
    refused = run_cli("dataset", "build", str(changed), "--out", str(release), check=False)
    assert refused.returncode == 2 and "v1.0" in refused.stderr and "was built from other inputs" in refused.stderr
    assert "recipe setting quality.max_file_bytes: 1000000 -> 5000" in refused.stderr
    assert "build v1.1 (set `version: v1.1` in the recipe)" in refused.stderr


def test_two_builds_of_the_same_input_and_recipe_have_the_same_manifest_hash(tmp_path, repo_folder):
    recipe = folder_recipe(tmp_path, repo_folder)
    first = build(recipe, tmp_path / "one")
    second = build(recipe, tmp_path / "two")
    assert first["manifest_hash"] == second["manifest_hash"]
    other = build(folder_recipe(tmp_path, repo_folder, quality={"max_file_bytes": 5000}), tmp_path / "three")
    assert other["manifest_hash"] != first["manifest_hash"]


def test_empty_sources_are_refused_with_a_clear_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("dataset", "build", str(folder_recipe(tmp_path, empty)), "--out", str(tmp_path / "r"), check=False)
    assert result.returncode == 2 and "holds no repository folder" in result.stderr
    recipe = small_installed_recipe(tmp_path, source={"kind": "installed", "include": ["no-such-dist-xyz"]})
    result = run_cli("dataset", "build", str(recipe), "--out", str(tmp_path / "r2"), check=False)
    assert result.returncode == 2 and "no installed distribution matched" in result.stderr


def test_stack_schema_parquet_with_a_corrupt_file_is_skipped_and_counted(tmp_path):
    data = tmp_path / "stack"
    data.mkdir()
    rows = {
        "content": ["def f(x):\n    return x + 1\n", "int main(void) { return 0; }\n", "fn main() {}\n"],
        "max_stars_repo_name": ["octo/app", "octo/app", "gnu/thing"],
        "max_stars_repo_path": ["src/f.py", "src/main.c", "main.rs"],
        "max_stars_repo_licenses": [["MIT"], ["MIT"], ["GPL-3.0-only"]],
        "max_stars_count": [12, 12, None],
        "lang": ["Python", "C", "Rust"],
    }
    pq.write_table(pa.table(rows), data / "part-0.parquet")
    (data / "part-1.parquet").write_bytes(b"PAR1 this is not a parquet file at all")
    recipe = write_recipe(
        tmp_path,
        {
            "source": {"kind": "stack", "data_folder": str(data), "format": "parquet"},
            "executor": {"tasks": 1, "workers": 1},
        },
    )
    result = build(recipe, tmp_path / "release")
    version_dir = Path(result["version_dir"])
    source = next(s for s in result["steps"] if s["step"] == "source")
    assert source["corrupt_input_files"] == 1 and source["out"] == 3
    table = pq.read_table(version_dir / "data").to_pylist()
    assert [(r["id"], r["stars"], r["licenses"]) for r in table] == [
        ("octo/app/src/f.py", 12, ["MIT"]),
        ("octo/app/src/main.c", 12, ["MIT"]),
    ]


def _completed(release: Path) -> int:
    folder = release / "dataset-versions" / "v1.0" / "work" / "stages" / "filter" / "completions"
    return len(list(folder.iterdir())) if folder.is_dir() else 0


def test_kill_and_resume_finishes_without_redoing_tasks_and_matches_a_clean_build(tmp_path):
    changes = {
        "source": {"kind": "installed", "exclude": ["bigcode-release"], "max_total_mb": 40},
        "executor": {"tasks": 10, "workers": 1},
    }
    recipe = write_recipe(tmp_path, changes)
    release = tmp_path / "killed"
    process = subprocess.Popen(
        [*CLI, "dataset", "build", str(recipe), "--out", str(release), "--no-progress"],
        cwd=REPO_ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 300
    while _completed(release) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    done_at_kill = _completed(release)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert 3 <= done_at_kill < 10, f"kill landed after {done_at_kill}/10 tasks"
    resumed = run_cli("dataset", "build", str(recipe), "--out", str(release), "--no-progress")
    assert "resuming:" in resumed.stdout + resumed.stderr
    skipped = int((resumed.stdout + resumed.stderr).split("resuming: ")[1].split("/")[0])
    assert skipped >= done_at_kill
    clean = build(recipe, tmp_path / "clean")
    resumed_manifest = json.loads((release / "dataset" / "manifest.json").read_text())
    assert resumed_manifest["manifest_hash"] == clean["manifest_hash"]
