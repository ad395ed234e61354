"""The release stage against a loopback Hub (tests/hub_server.py) with the real `HfApi`: a full
push gates, tags and publishes; an anonymous download is refused and an accepted user's is
byte-identical; a second push uploads nothing; a killed push resumes to the same state; bad
tokens, foreign organisations and incomplete cards are refused with nothing half-published."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import CLI, REPO_ROOT
from tests.hub_server import FakeHub, RunningHub

pytestmark = pytest.mark.slow
TOKENS = {"tok-alice": "alice", "tok-bob": "bob", "tok-carol": "carol", "tok-dave": "dave"}
ORGS = {"bigcode": {"alice": "admin", "carol": "read"}}


@pytest.fixture(scope="module")
def release(publishable_release) -> Path:
    return publishable_release


def hub_env(url: str, token: str | None, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_HUB_OFFLINE")}
    env.update(HF_ENDPOINT=url, HF_HUB_DISABLE_XET="1", HF_HOME=str(home))
    if token:
        env["HF_TOKEN"] = token
    return env


def push(release: Path, url: str, token: str | None, home: Path, *extra: str, check: bool = True):
    result = subprocess.run(
        [*CLI, "release", "push", str(release), "--org", "bigcode", "--json", *extra],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=hub_env(url, token, home),
        timeout=600,
    )
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def settings_file(folder: Path, **sections) -> Path:
    path = folder / "release.yaml"
    path.write_text(yaml.safe_dump(sections))
    return path


def test_plan_lists_what_would_be_published_and_sends_nothing(release, tmp_path):
    env = hub_env("http://127.0.0.1:9", None, tmp_path)
    result = subprocess.run(
        [*CLI, "release", "plan", str(release), "--org", "bigcode", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    repos = {r["repo_id"]: r for r in json.loads(result.stdout)["repos"]}
    assert set(repos) == {
        "bigcode/the-stack-local",
        "bigcode/the-stack-local-optout",
        "bigcode/tiny-test",
        "bigcode/in-the-stack",
        "bigcode/the-stack-local-optout-requests",
    }
    dataset = repos["bigcode/the-stack-local"]
    assert (dataset["repo_type"], dataset["gate"], dataset["private"], dataset["tag"]) == (
        "dataset",
        "auto",
        False,
        "v1.0",
    )
    assert {"README.md", "manifest.json", "stats.json", "repos.parquet"} <= {
        f["path_in_repo"] for f in dataset["files"]
    }
    model = repos["bigcode/tiny-test"]
    assert model["gate"] == "auto" and model["tag"] == "step-000006"
    assert {"model.safetensors", "config.json", "tokenizer.json", "README.md"} <= {
        f["path_in_repo"] for f in model["files"]
    }
    assert "training_state.pt" not in {f["path_in_repo"] for f in model["files"]}
    space = repos["bigcode/in-the-stack"]
    assert space["space_sdk"] == "gradio" and space["space_secrets"] == ["HF_TOKEN"]
    assert space["space_variables"]["OPTOUT_REQUESTS_REPO"] == "bigcode/the-stack-local-optout-requests"
    assert {"app.py", "README.md", "requirements.txt", "wheels/bigcode_release-0.1.0-py3-none-any.whl"} <= {
        f["path_in_repo"] for f in space["files"]
    }
    intake = repos["bigcode/the-stack-local-optout-requests"]
    assert intake["private"] and not intake["prune"] and [f["path_in_repo"] for f in intake["files"]] == ["README.md"]


def test_cards_validate_with_huggingface_hub(release):
    from huggingface_hub import DatasetCard, ModelCard, SpaceCard

    from bigcode_release.release.plan import make_plan
    from bigcode_release.release.settings import load_release_settings

    plans = {p.kind: p for p in make_plan(release, "bigcode", load_release_settings())}
    dataset = DatasetCard.load(plans["dataset"].card().local)
    assert dataset.data.extra_gated_fields and "## Licenses" in dataset.text and "## Opt-out" in dataset.text
    model = ModelCard.load(plans["model"].card().local)
    assert model.data.license == "bigcode-openrail-m" and len(model.data.extra_gated_fields) == 1
    assert "| parameters |" in model.text
    assert SpaceCard.load(plans["space"].card().local).data.sdk == "gradio"
    assert DatasetCard.load(plans["optout-list"].card().local).data.pretty_name == "Opt-out list"


def test_full_push_gates_tags_refuses_anonymous_and_serves_accepted_users(release, tmp_path):
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import GatedRepoError

    hub = FakeHub(TOKENS, ORGS)
    with RunningHub(hub):
        first = json.loads(push(release, hub.url, "tok-alice", tmp_path).stdout)
        assert first["user"] == "alice" and first["uploaded_bytes"] > 0
        dataset = hub.repos[("dataset", "bigcode/the-stack-local")]
        assert dataset.gated == "auto" and not dataset.private and set(dataset.tags) == {"v1.0"}
        assert hub.repos[("model", "bigcode/tiny-test")].gated == "auto"
        assert hub.repos[("space", "bigcode/in-the-stack")].gated is False
        manifest = json.loads((release / "hub-release.json").read_text())
        assert "tok-alice" not in (release / "hub-release.json").read_text()
        assert {r["repo_id"]: r["tag"] for r in manifest["repos"]}["bigcode/the-stack-local"] == "v1.0"

        version = Path(os.path.realpath(release / "dataset"))
        shard = sorted((version / "data").glob("*.parquet"))[0].relative_to(version).as_posix()
        with pytest.raises(GatedRepoError):
            hf_hub_download(
                "bigcode/the-stack-local",
                shard,
                repo_type="dataset",
                endpoint=hub.url,
                cache_dir=tmp_path / "anon",
                token=False,
            )
        hub.ask_access("dataset", "bigcode/the-stack-local", "bob", {"Email": "bob@example.org"})
        for entry in json.loads((version / "manifest.json").read_text())["outputs"]:
            local = hf_hub_download(
                "bigcode/the-stack-local",
                entry["path"],
                repo_type="dataset",
                revision="v1.0",
                endpoint=hub.url,
                cache_dir=tmp_path / "bob",
                token="tok-bob",
            )
            assert Path(local).read_bytes() == (version / entry["path"]).read_bytes(), entry["path"]

        commits_before = {key: len(repo.commits) for key, repo in hub.repos.items()}
        second = json.loads(push(release, hub.url, "tok-alice", tmp_path).stdout)
        assert second["uploaded_bytes"] == 0
        assert {key: len(repo.commits) for key, repo in hub.repos.items()} == commits_before


def test_a_push_killed_after_its_first_commit_resumes_to_the_same_state(release, tmp_path):
    small_commits = settings_file(tmp_path, commits={"max_bytes": 200_000, "max_files": 3})
    reference = FakeHub(TOKENS, ORGS)
    with RunningHub(reference):
        push(release, reference.url, "tok-alice", tmp_path, "--settings", str(small_commits))
        expected = {
            key: (reference.tree_of(*key), dict(repo.tags), repo.gated, repo.private)
            for key, repo in reference.repos.items()
        }
    assert len(reference.repos[("dataset", "bigcode/the-stack-local")].commits) > 3  # several bounded commits

    hub = FakeHub(TOKENS, ORGS)
    hub.hold_commits_after = 1
    with RunningHub(hub):
        process = subprocess.Popen(
            [*CLI, "release", "push", str(release), "--org", "bigcode", "--json", "--settings", str(small_commits)],
            cwd=REPO_ROOT,
            env=hub_env(hub.url, "tok-alice", tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while hub.commit_requests < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        hub.released.set()
        partial = hub.repos[("dataset", "bigcode/the-stack-local")]
        assert len(partial.commits) == 2 and partial.private and not partial.tags  # one commit landed, not public
        hub.hold_commits_after = None
        push(release, hub.url, "tok-alice", tmp_path, "--settings", str(small_commits))
        actual = {
            key: (hub.tree_of(*key), dict(repo.tags), repo.gated, repo.private) for key, repo in hub.repos.items()
        }

    def strip(state: dict) -> dict:
        # a Space's requirements.txt names its Hub's address (the wheel's URL): each server has its own port
        return {
            k: ({p: v for p, v in tree.items() if p != "requirements.txt"}, sorted(tags), gated, private)
            for k, (tree, tags, gated, private) in state.items()
        }

    assert strip(actual) == strip(expected)


def test_bad_tokens_foreign_orgs_and_incomplete_cards_are_refused_before_anything_is_sent(release, tmp_path):
    hub = FakeHub(TOKENS, ORGS)
    with RunningHub(hub):
        missing = push(release, hub.url, None, tmp_path, check=False)
        assert missing.returncode == 2 and "no Hugging Face token" in missing.stderr
        invalid = push(release, hub.url, "hf_not_a_real_token_123", tmp_path, check=False)
        assert invalid.returncode == 2 and "refused the token (HTTP 401)" in invalid.stderr
        assert "hf_not_a_real_token_123" not in invalid.stderr + invalid.stdout
        foreign = push(release, hub.url, "tok-bob", tmp_path, check=False)
        assert foreign.returncode == 2 and "user bob cannot write to the organisation bigcode" in foreign.stderr
        reader = push(release, hub.url, "tok-carol", tmp_path, check=False)
        assert reader.returncode == 2 and "your role there is 'read'" in reader.stderr

        broken = tmp_path / "broken" / "release"
        shutil.copytree(release, broken, symlinks=True)
        card = Path(os.path.realpath(broken / "dataset")) / "README.md"
        card.write_text(card.read_text().replace("## Opt-out", "## Removed"))
        refused = push(broken, hub.url, "tok-alice", tmp_path, check=False)
        assert refused.returncode == 2 and "no '## Opt-out' section" in refused.stderr
        assert hub.repos == {} and hub.commit_requests == 0


def test_never_public_ungated_unless_written(release, tmp_path):
    from bigcode_release.release.plan import make_plan
    from bigcode_release.release.settings import load_release_settings

    default = {p.kind: p.gate for p in make_plan(release, "bigcode", load_release_settings())}
    assert default["dataset"] == default["model"] == default["optout-list"] == "auto"
    ungated = settings_file(tmp_path, model={"gate": {"mode": "none"}}, dataset={"gate": {"mode": "manual"}})
    chosen = {p.kind: p.gate for p in make_plan(release, "bigcode", load_release_settings(ungated))}
    assert chosen["model"] is None and chosen["dataset"] == "manual"
    partial = load_release_settings(settings_file(tmp_path, commits={"max_files": 3}))  # merged over the shipped file
    assert (
        partial.commits.max_files == 3 and partial.model.gate.mode == "auto" and "License" in partial.model.gate.prompt
    )


def test_to_dir_writes_the_exact_trees_without_a_token(release, tmp_path):
    result = push(release, "http://127.0.0.1:9", None, tmp_path, "--to-dir", str(tmp_path / "trees"))
    plan = json.loads((tmp_path / "trees" / "release-plan.json").read_text())
    dataset = next(r for r in plan["repos"] if r["kind"] == "dataset")
    folder = Path(dataset["folder"])
    assert folder.name == "the-stack-local@v1.0" and dataset["gated"] == "auto"
    version = Path(os.path.realpath(release / "dataset"))
    for entry in dataset["files"]:
        assert (folder / entry["path"]).read_bytes() == (version / entry["path"]).read_bytes()
    assert json.loads(result.stdout)["repos"]


def test_maintainers_list_accept_reject_and_grant_access(release, tmp_path):
    manual = settings_file(tmp_path, dataset={"gate": {"mode": "manual"}})
    hub = FakeHub(TOKENS, ORGS)
    with RunningHub(hub):
        push(release, hub.url, "tok-alice", tmp_path, "--settings", str(manual))
        repo = "bigcode/the-stack-local"
        assert hub.repos[("dataset", repo)].gated == "manual"
        hub.ask_access("dataset", repo, "bob", {"Email": "bob@example.org"})
        hub.ask_access("dataset", repo, "carol")
        env = hub_env(hub.url, "tok-alice", tmp_path)

        def access(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [*CLI, "release", "access", *args], capture_output=True, text=True, cwd=REPO_ROOT, env=env
            )

        pending = json.loads(access("list", repo, "--json").stdout)
        assert {row["user"] for row in pending} == {"bob", "carol"}
        assert next(r for r in pending if r["user"] == "bob")["fields"] == {"Email": "bob@example.org"}
        assert access("accept", repo, "--user", "bob").returncode == 0
        assert access("reject", repo, "--user", "carol", "--reason", "incomplete form").returncode == 0
        assert access("grant", repo, "--user", "dave").returncode == 0
        accepted = {row["user"] for row in json.loads(access("list", repo, "--status", "accepted", "--json").stdout)}
        assert accepted == {"bob", "dave"}
        assert [r["user"] for r in json.loads(access("list", repo, "--status", "rejected", "--json").stdout)] == [
            "carol"
        ]
        again = access("grant", repo, "--user", "dave")
        assert again.returncode == 2 and "cannot grant dave" in again.stderr


def test_recipes_pull_rebuilds_the_published_version_with_the_same_manifest_hash(release, tmp_path):
    hub = FakeHub(TOKENS, ORGS)
    with RunningHub(hub):
        push(release, hub.url, "tok-alice", tmp_path / "home")
        env = hub_env(hub.url, "tok-alice", tmp_path / "home")
        pulled = subprocess.run(
            [*CLI, "recipes", "pull", "bigcode/the-stack-local@v1.0", "--to", str(tmp_path / "recipes"), "--json"],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=env,
            timeout=600,
        )
        assert pulled.returncode == 0, pulled.stderr[-2000:]
        wrong = subprocess.run(
            [*CLI, "recipes", "pull", "bigcode/the-stack-local@v9.9", "--to", str(tmp_path / "x")],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=env,
            timeout=600,
        )
        assert wrong.returncode == 2 and "bigcode/the-stack-local@v9.9" in wrong.stderr
    recipe = json.loads(pulled.stdout)["dataset"]
    assert json.loads(pulled.stdout)["needs"] == []  # installed packages, HumanEval: nothing else to provide
    rebuilt = subprocess.run(
        [*CLI, "dataset", "build", recipe, "--out", str(tmp_path / "rebuilt"), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=900,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    published = json.loads((Path(os.path.realpath(release / "dataset")) / "manifest.json").read_text())
    assert json.loads(rebuilt.stdout)["manifest_hash"] == published["manifest_hash"]
