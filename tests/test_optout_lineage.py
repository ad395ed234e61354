"""What a dataset version is built from, by content, and opt-outs that follow the code:

- a version rebuilt with another opt-out list or another benchmark file is refused, the
  difference named, and not one file of the existing version changes;
- copies of an opted-out owner's files in other repositories (verbatim and edited) are removed as
  `opted_out_copy`, with the request and the original in the ledger; the rest of that repository
  stays;
- a subtree vendored from an opted-out project, named by its own dist-info (as ray vendors
  aiohttp), is removed by origin even when its files differ from the project's;
- a training run never resumes on other data.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import MIT_TEXT, folder_recipe, run_cli, run_cli_json, tiny_train_recipe, write_recipe

pytestmark = pytest.mark.slow


def _code(seed: int, functions: int = 60) -> str:
    rng = random.Random(seed)
    return "".join(
        f"def function_{i}(alpha, beta):\n    total = alpha * {i} + beta - {rng.randint(1, 99)}\n"
        f"    return total if total > {i} else beta\n"
        for i in range(functions)
    )


def _folder_of_copies(root: Path) -> Path:
    """alice/lib (to opt out); bob/app vendors lib.py verbatim and an edited copy; carol/other."""
    code = _code(0)
    for folder in ("alice/lib", "bob/app/_vendor/lib", "bob/app/third_party", "carol/other"):
        (root / folder).mkdir(parents=True)
    for repo in ("alice/lib", "bob/app", "carol/other"):
        (root / repo / "LICENSE").write_text(MIT_TEXT)
    (root / "alice/lib/lib.py").write_text(code)
    (root / "bob/app/_vendor/lib/lib.py").write_text(code)
    edited = code.replace("function_3(", "function_three(").replace("function_40(", "renamed_40(")
    (root / "bob/app/third_party/lib_copy.py").write_text(edited)
    (root / "bob/app/main.py").write_text(
        "import sys\n\n\ndef main():\n    print('a program of bob's own')\n    return 0\n".replace("bob's", "bobs")
    )
    (root / "carol/other/tool.py").write_text(_code(7))
    # a one-line file alice and carol both have: too generic to count as a copy of alice's code
    (root / "alice/lib/__init__.py").write_text("from .lib import function_1\n")
    (root / "carol/other/__init__.py").write_text("from .lib import function_1\n")
    return root


def _ledger(version_dir: Path) -> list[dict]:
    rows = []
    for path in sorted((version_dir / "work" / "dropped").glob("*/*.jsonl.gz")):
        with gzip.open(path, "rt") as handle:
            rows += [json.loads(line) for line in handle]
    return rows


def _file_hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _optouts(path: Path, *entries: tuple[str, str]) -> Path:
    path.write_text("".join(json.dumps({"owner": owner, "request_id": rid}) + "\n" for owner, rid in entries))
    return path


def test_rebuilding_a_version_from_other_inputs_is_refused_and_changes_nothing(tmp_path):
    repos = _folder_of_copies(tmp_path / "repos")
    benchmark = tmp_path / "mine.jsonl"
    benchmark.write_text(
        json.dumps({"task_id": "m/0", "prompt": "def unrelated_problem(x):", "canonical_solution": ""})
    )
    one = _optouts(tmp_path / "one.jsonl", ("alice", "req-1"))
    decontamination = {"benchmarks": [{"name": "mine", "path": str(benchmark)}]}
    recipe = folder_recipe(tmp_path, repos, optout={"list": str(one)}, decontamination=decontamination)
    release = tmp_path / "release"
    run_cli_json("dataset", "build", str(recipe), "--out", str(release))
    version_dir = release / "dataset-versions" / "v1.0"
    before = _file_hashes(version_dir)

    two = _optouts(tmp_path / "two.jsonl", ("alice", "req-1"), ("carol", "req-2"))
    more = folder_recipe(tmp_path, repos, optout={"list": str(two)}, decontamination=decontamination)
    refused = run_cli("dataset", "build", str(more), "--out", str(release), check=False)
    assert refused.returncode == 2
    assert "v1.0 was built without 1 approved opt-out request(s) (req-2, carol)" in refused.stderr
    assert "build v1.1" in refused.stderr

    benchmark.write_text(json.dumps({"task_id": "m/0", "prompt": "def another_problem(y):", "canonical_solution": ""}))
    refused = run_cli("dataset", "build", str(recipe), "--out", str(release), check=False)
    assert refused.returncode == 2 and "benchmark 'mine' changed (sha256" in refused.stderr
    assert _file_hashes(version_dir) == before


def test_copies_of_an_opted_out_file_elsewhere_are_removed_and_the_rest_stays(tmp_path):
    repos = _folder_of_copies(tmp_path / "repos")
    listed = _optouts(tmp_path / "optout.jsonl", ("alice", "req-a"))
    release = tmp_path / "release"
    run_cli_json(
        "dataset", "build", str(folder_recipe(tmp_path, repos, optout={"list": str(listed)})), "--out", str(release)
    )
    version_dir = release / "dataset-versions" / "v1.0"
    kept = set(pq.read_table(version_dir / "data", columns=["id"]).column("id").to_pylist())
    assert kept == {"bob/app/main.py", "carol/other/tool.py", "carol/other/__init__.py"}
    reasons = {f"{r['repo_name']}/{r['path']}": r for r in _ledger(version_dir) if r["reason"].startswith("opted_out")}
    assert reasons["alice/lib/lib.py"]["reason"] == "opted_out"
    for copy in ("bob/app/_vendor/lib/lib.py", "bob/app/third_party/lib_copy.py"):
        assert reasons[copy]["reason"] == "opted_out_copy", copy
        assert reasons[copy]["optout_request_id"] == "req-a" and reasons[copy]["duplicate_of"] == "alice/lib/lib.py"
    stats = json.loads((version_dir / "stats.json").read_text())
    request = stats["optout"]["requests"][0]
    assert (request["request_id"], request["files"], request["copies"], request["copy_repos"]) == ("req-a", 2, 2, 1)
    repo_rows = {r["repo_name"]: r for r in pq.read_table(version_dir / "repos.parquet").to_pylist()}
    assert repo_rows["bob/app"]["included"] and repo_rows["bob/app"]["optout_request_id"] is None
    card = (version_dir / "README.md").read_text()
    assert "2 copies of their code found in other repositories" in card and "at least 70% of positions" in card


def _dist(site: Path, name: str, version: str, files: dict[str, str], home: str, record_extra: list[str] = ()) -> None:
    """An installed distribution as pip leaves it: its files and a dist-info with METADATA and RECORD."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: MIT\nHome-page: {home}\n"
    )
    for relative, text in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)
    rows = [*files, *record_extra, f"{info.name}/METADATA", f"{info.name}/RECORD"]
    (info / "RECORD").write_text("".join(f"{row},,\n" for row in rows))


def test_a_subtree_vendored_from_an_opted_out_project_is_removed_by_origin(tmp_path):
    site = tmp_path / "site"
    upstream_code = _code(1)
    _dist(
        site,
        "upstream",
        "1.1",
        {"upstream/__init__.py": "", "upstream/core.py": upstream_code},
        "https://github.com/upowner/upstream",
    )
    vendored = site / "host" / "_vendor"
    # the host vendors an older upstream: different code, with upstream's own dist-info
    _dist(
        vendored,
        "upstream",
        "1.0",
        {"upstream/__init__.py": "", "upstream/core.py": _code(2)},
        "https://github.com/upowner/upstream",
    )
    vendored_files = [
        "host/_vendor/upstream/__init__.py",
        "host/_vendor/upstream/core.py",
        "host/_vendor/upstream-1.0.dist-info/METADATA",
        "host/_vendor/upstream-1.0.dist-info/RECORD",
    ]
    _dist(
        site,
        "host",
        "2.0",
        {"host/__init__.py": "", "host/app.py": _code(3)},
        "https://github.com/hostowner/host",
        record_extra=vendored_files,
    )
    listed = _optouts(tmp_path / "optout.jsonl", ("upowner", "req-u"))
    recipe = write_recipe(
        tmp_path,
        {
            "source": {"kind": "installed", "site_packages": [str(site)], "include": ["host", "upstream"]},
            "executor": {"tasks": 1, "workers": 1},
            "optout": {"list": str(listed)},
        },
    )
    release = tmp_path / "release"
    run_cli_json("dataset", "build", str(recipe), "--out", str(release))
    version_dir = release / "dataset-versions" / "v1.0"
    kept = set(pq.read_table(version_dir / "data", columns=["id"]).column("id").to_pylist())
    assert "hostowner/host/host/app.py" in kept
    assert not {k for k in kept if "upstream" in k}
    reasons = {f"{r['repo_name']}/{r['path']}": r for r in _ledger(version_dir)}
    copy = reasons["hostowner/host/host/_vendor/upstream/core.py"]
    assert copy["reason"] == "opted_out_copy" and copy["optout_request_id"] == "req-u"
    assert copy["duplicate_of"] == "upowner/upstream/upstream/core.py"
    assert reasons["upowner/upstream/upstream/core.py"]["reason"] == "opted_out"


def test_a_training_run_never_resumes_on_other_data(tokenized_release, tmp_path):
    from bigcode_release.errors import TrainingError
    from bigcode_release.train.recipe import load_train_recipe
    from bigcode_release.train.torch_engine import train_torch

    recipe = load_train_recipe(tiny_train_recipe(tmp_path, tokenized_release, batch={"train_steps": 3}))
    run_dir = tmp_path / "run"
    train_torch(recipe, run_dir=run_dir, show_progress=False)
    manifest = tokenized_release / "tokenized" / "v1.0" / "manifest.json"
    original = manifest.read_text()
    changed = json.loads(original)
    changed["manifest_hash"] = "0" * 64  # the shards of another build of the data
    manifest.write_text(json.dumps(changed))
    try:
        with pytest.raises(TrainingError, match="a run never resumes on other data"):
            train_torch(recipe, run_dir=run_dir, show_progress=False)
    finally:
        manifest.write_text(original)
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["step-000003"]
