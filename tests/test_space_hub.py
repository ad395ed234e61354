"""The "Am I in The Stack?" Space as published: pushed to the loopback Hub (tests/hub_server.py),
installed into a fresh virtualenv from the pushed `requirements.txt` alone (the toolkit's wheel comes
from the Space's files on the Hub, never from this checkout), started with `python app.py` from a
copy of the pushed tree in an empty folder with the variables and secrets the Hub gives it, and
answered through `gradio_client` and Debian's chromium.

Its requests live on the Hub: 20 filed, the Space killed (SIGKILL) and its folder deleted, and a new
one started from the pushed tree; `optout pull` imports the 20 once, a decision pushed back shows in
the new Space, and a request the Hub refuses is never acknowledged. The data inspector and the
membership test, started the same way, answer from the index they download from the gated
`-index` dataset.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.browser import CHROMIUM, browser_page, screenshot
from tests.conftest import CLI, REPO_ROOT
from tests.hub_server import FakeHub, RunningHub

pytestmark = pytest.mark.slow
TOKENS = {"tok-alice": "alice", "tok-space": "in-the-stack-space"}
ORGS = {"bigcode": {"alice": "admin", "in-the-stack-space": "write"}}
SPACE = "bigcode/in-the-stack"
INTAKE = "bigcode/the-stack-local-optout-requests"
INDEX = "bigcode/the-stack-local-index"
ALL_SPACES = ["in_the_stack", "data_inspector", "membership_test"]
VENV_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bigcode-release" / "space-venvs"


def _env(hub: FakeHub, home: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_HUB_OFFLINE", "PYTHONPATH")}
    env.update(HF_ENDPOINT=hub.url, HF_HUB_DISABLE_XET="1", HF_HOME=str(home), **extra)
    return env


def _cli_json(hub: FakeHub, home: Path, *args: str, token: str = "tok-alice") -> dict:
    result = subprocess.run(
        [*CLI, *args, "--json"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=_env(hub, home, HF_TOKEN=token),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def indexed_release(publishable_release, tmp_path_factory) -> Path:
    """The small release with its data index, and settings that publish all three Spaces."""
    release = tmp_path_factory.mktemp("indexed-release") / "release"
    shutil.copytree(publishable_release, release, symlinks=True)
    subprocess.run([*CLI, "index", "build", str(release), "--json"], check=True, capture_output=True, cwd=REPO_ROOT)
    (release.parent / "release.yaml").write_text(yaml.safe_dump({"spaces": {"include": ALL_SPACES}}))
    return release


@pytest.fixture(scope="module")
def hub(indexed_release, tmp_path_factory):
    """The loopback Hub with the release pushed, the Spaces' HF_TOKEN secret set from SPACE_TOKEN."""
    server = FakeHub(TOKENS, ORGS)
    home = tmp_path_factory.mktemp("maintainer-home")
    with RunningHub(server):
        result = subprocess.run(
            [*CLI, "release", "push", str(indexed_release), "--org", "bigcode", "--json"]
            + ["--settings", str(indexed_release.parent / "release.yaml"), "--space-token-env", "SPACE_TOKEN"],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=_env(server, home, HF_TOKEN="tok-alice", SPACE_TOKEN="tok-space"),
            timeout=900,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "tok-space" not in (indexed_release / "hub-release.json").read_text()
        # the maintainer raises the per-address limit, as the Space's settings page allows
        from huggingface_hub import HfApi

        HfApi(endpoint=server.url, token="tok-alice").add_space_variable(SPACE, "OPTOUT_SUBMISSIONS_PER_MINUTE", "100")
        yield server


def _download_space(hub: FakeHub, folder: Path, space: str = SPACE) -> Path:
    """A copy of the pushed tree, as the Hub checks it out for the Space (into an empty folder)."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(space, repo_type="space", endpoint=hub.url, token=False, local_dir=folder / "app"))


@pytest.fixture(scope="module")
def space_python(hub, tmp_path_factory) -> Path:
    """A fresh virtualenv made from the pushed requirements.txt alone (plus the README's Gradio, as the
    Hub's Space build installs it), reused while the requirements and the wheel they name are the same."""
    tree = _download_space(hub, tmp_path_factory.mktemp("space-tree"))
    requirements = (tree / "requirements.txt").read_text()
    sdk_version = yaml.safe_load((tree / "README.md").read_text().split("---")[1])["sdk_version"]
    wheel = hashlib.sha256((tree / "wheels").joinpath(*os.listdir(tree / "wheels")).read_bytes()).hexdigest()
    key = hashlib.sha256((re.sub(r"http://127\.0\.0\.1:\d+", "HUB", requirements) + sdk_version + wheel).encode())
    venv = VENV_CACHE / key.hexdigest()[:16]
    if not (venv / ".complete").is_file():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
            + ["-r", str(tree / "requirements.txt"), f"gradio=={sdk_version}"],
            check=True,
            cwd=tree,
            env=_env(hub, tmp_path_factory.mktemp("pip-home")),
            timeout=1500,
        )
        (venv / ".complete").touch()
    return venv / "bin" / "python"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningSpace:
    """`python app.py` in a copy of the pushed tree, with the Space's variables and secrets."""

    def __init__(self, hub: FakeHub, python: Path, folder: Path, space: str = SPACE):
        self.folder = folder
        self.tree = _download_space(hub, folder, space)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = folder / "space.log"
        env = _env(
            hub,
            folder / "space-home",
            **hub.space_environment(space),
            GRADIO_SERVER_NAME="127.0.0.1",
            GRADIO_SERVER_PORT=str(self.port),
            GRADIO_ANALYTICS_ENABLED="False",
        )
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [str(python), "app.py"],
                cwd=self.tree,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError(f"the Space did not start in 180 s:\n{self.log.read_text()[-3000:]}")

    def client(self):
        from gradio_client import Client

        return Client(self.url, verbose=False)

    def kill(self) -> None:
        """SIGKILL, as the Hub stops a Space on a restart or a hardware change; then its disk is gone."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        shutil.rmtree(self.folder)


def _pushed_files(hub: FakeHub, folder: str) -> dict[str, tuple]:
    return {p: v for p, v in hub.tree_of("dataset", INTAKE).items() if p.startswith(folder + "/")}


def test_the_pushed_space_installs_from_its_own_tree_and_says_how_it_is_configured(hub, space_python, tmp_path):
    import gradio

    tree = _download_space(hub, tmp_path)
    requirement = (tree / "requirements.txt").read_text().splitlines()[-1]
    wheel = tree / "wheels" / "bigcode_release-0.1.0-py3-none-any.whl"
    assert requirement == (  # the wheel's digest in the URL: pip checks it, and a new wheel changes the file
        f"bigcode-release[space] @ {hub.url}/spaces/{SPACE}/resolve/main/wheels/{wheel.name}"
        f"#sha256={hashlib.sha256(wheel.read_bytes()).hexdigest()}"
    )
    meta = yaml.safe_load((tree / "README.md").read_text().split("---")[1])
    assert meta["python_version"] == "3.11" and meta["sdk"] == "gradio" and meta["sdk_version"] == gradio.__version__
    readme = (tree / "README.md").read_text()
    for name in ("OPTOUT_REQUESTS_REPO", "HF_TOKEN", "OPTOUT_SUBMISSIONS_PER_MINUTE", "RELEASE_DIR"):
        assert f"| `{name}` |" in readme
    assert hub.repos[("space", SPACE)].variables["OPTOUT_REQUESTS_REPO"] == INTAKE
    assert hub.repos[("space", SPACE)].secrets == {"HF_TOKEN": "tok-space"}
    assert hub.repos[("dataset", INTAKE)].private

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    located = subprocess.run(
        [str(space_python), "-c", "import bigcode_release, gradio; print(bigcode_release.__file__)"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(located).is_relative_to(space_python.parent.parent), located
    # the slim set holds no dataset stage: a build says which extra brings it
    refused = subprocess.run(
        [str(space_python.parent / "bigcode-release"), "dataset", "build", "the-stack-local"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "bigcode-release[data]" in refused.stderr, refused.stderr[-2000:]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test.sh installs it)")
def test_requests_filed_through_the_published_space_outlive_it(hub, space_python, indexed_release, tmp_path):
    before = len(_pushed_files(hub, "requests"))
    space = RunningSpace(hub, space_python, tmp_path / "first")
    client = space.client()
    owner = "benjaminp"
    answer, _, _ = client.predict(owner, "v1.0", api_name="/check")
    assert f"**{owner}**" in answer
    filed = []
    for number in range(20):
        text = client.predict(f"user-{number:02d}", "whole account", [], "", f"request {number}", api_name="/submit")
        match = re.search(r"Request \*\*(req-[0-9a-f]{12})\*\* filed", text)
        assert match, text
        filed.append(match.group(1))
        assert f"requests/{match.group(1)}.json" in _pushed_files(hub, "requests")  # on the Hub once acknowledged
    space.kill()
    assert not (tmp_path / "first").exists()

    stored = _pushed_files(hub, "requests")
    assert len(stored) == before + 20 and all(f"requests/{i}.json" in stored for i in filed)
    registry = tmp_path / "maintainer" / "optout.sqlite"
    home = tmp_path / "maintainer-home"
    pulled = _cli_json(hub, home, "optout", "pull", "--from", INTAKE, "--registry", str(registry))
    assert pulled["imported_count"] == before + 20 and pulled["skipped"] == {}
    again = _cli_json(hub, home, "optout", "pull", "--from", INTAKE, "--registry", str(registry))
    assert again["imported_count"] == 0 and again["already_present"] == before + 20
    _cli_json(hub, home, "optout", "approve", filed[3], "--by", "maintainer", "--registry", str(registry))
    _cli_json(
        hub,
        home,
        "optout",
        "reject",
        filed[4],
        "--by",
        "maintainer",
        "--reason",
        "no such account",
        "--registry",
        str(registry),
    )

    def push_status() -> dict:
        arguments = ["optout", "push-status", "--to", INTAKE, "--registry", str(registry)]
        return _cli_json(hub, home, *arguments, "--release", str(indexed_release))

    assert set(filed) <= set(push_status()["written"])
    assert push_status()["written"] == []  # unchanged statuses are not sent again

    restarted = RunningSpace(hub, space_python, tmp_path / "second")
    try:
        client = restarted.client()
        assert "**approved**" in client.predict(filed[3], api_name="/status")
        rejected = client.predict(filed[4].upper(), api_name="/status")
        assert "**rejected**" in rejected and "no such account" in rejected
        assert "**pending**" in client.predict(filed[0], api_name="/status")
        # the restarted Space finds each account's requests on the Hub: a lookup names them, a
        # duplicate is answered with the request already filed and nothing new is committed
        answer, _, _ = client.predict("USER-03", "v1.0", api_name="/check")
        assert "Opt-out requests for this account: approved (the whole account" in answer, answer
        commits = len(_pushed_files(hub, "requests"))
        duplicate = client.predict("user-00", "whole account", [], "", "", api_name="/submit")
        assert duplicate.startswith(f"Already requested: **{filed[0]}** pending"), duplicate
        assert len(_pushed_files(hub, "requests")) == commits
        assert f"accounts/user-00/{filed[0]}" in _pushed_files(hub, "accounts")
        refiled = client.predict("user-04", "whole account", [], "", "", api_name="/submit")
        assert "filed for the whole account" in refiled  # a rejected request does not stand in the way
        unknown = client.predict("req-000000000000", api_name="/status")
        assert unknown.startswith("**Error:**") and "sqlite" not in unknown and "/" not in unknown
        with browser_page() as page:
            page.goto(restarted.url)
            page.get_by_text("Follow a request", exact=True).first.click()
            page.get_by_label("Request id").fill(filed[3])
            page.get_by_role("button", name="Status").click()
            page.get_by_text("approved").first.wait_for(timeout=30_000)
            screenshot(page, "in_the_stack_published.png")
    finally:
        restarted.kill()


def test_a_request_the_hub_refuses_is_never_acknowledged(hub, space_python, tmp_path):
    space = RunningSpace(hub, space_python, tmp_path / "space")
    try:
        client = space.client()
        stored = len(_pushed_files(hub, "requests"))
        hub.refuse_commits = True
        try:
            refused = client.predict("carol-refused", "whole account", [], "", "", api_name="/submit")
        finally:
            hub.refuse_commits = False
        assert refused.startswith("**Error:**") and "NOT filed" in refused and "req-" not in refused
        assert len(_pushed_files(hub, "requests")) == stored
        retried = client.predict("carol-refused", "whole account", [], "", "", api_name="/submit")
        request_id = re.search(r"req-[0-9a-f]{12}", retried).group(0)
        assert f"requests/{request_id}.json" in _pushed_files(hub, "requests")
        assert len(_pushed_files(hub, "requests")) == stored + 1
    finally:
        space.kill()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test.sh installs it)")
def test_the_data_spaces_answer_from_the_index_they_download(hub, space_python, indexed_release, tmp_path):
    import pyarrow.parquet as pq

    index = hub.repos[("dataset", INDEX)]
    assert index.gated == "auto" and set(index.tags) == {"v1.0"}
    assert "index/v1.0/manifest.json" in hub.tree_of("dataset", INDEX)
    variables = hub.repos[("space", "bigcode/data-inspector")].variables
    assert (variables["INDEX_REPO"], variables["INDEX_REVISION"]) == (INDEX, "v1.0")
    wheel = "wheels/bigcode_release-0.1.0-py3-none-any.whl"
    trees = {
        space: hub.tree_of("space", space) for space in (SPACE, "bigcode/data-inspector", "bigcode/membership-test")
    }
    assert len({tree[wheel] for tree in trees.values()}) == 1  # one wheel: the same venv serves all three
    for space in trees:
        tree = _download_space(hub, tmp_path / space.split("/")[1], space)
        assert f"/spaces/{space}/resolve/main/{wheel}" in (tree / "requirements.txt").read_text()

    shard = sorted((indexed_release / "dataset" / "data").rglob("*.parquet"))[0]
    row = pq.read_table(shard, columns=["content", "repo_name", "path"]).slice(0, 1).to_pylist()[0]
    inspector = RunningSpace(hub, space_python, tmp_path / "inspector", "bigcode/data-inspector")
    membership = RunningSpace(hub, space_python, tmp_path / "membership", "bigcode/membership-test")
    try:
        assert "loading the data index bigcode/the-stack-local-index@v1.0" in inspector.log.read_text()
        word = max(re.findall(r"[A-Za-z_]{6,}", row["content"]), key=len)
        message, results, _ = inspector.client().predict(word, "(any)", "(any)", api_name="/search")
        assert message.startswith("Results 1-") and row["repo_name"] in {r[2] for r in results["data"]}, (word, message)
        summary, _, sources, notice = membership.client().predict(row["content"][:4000], 64, api_name="/check")
        assert "in v1.0" in summary and "look copied" in summary, summary
        assert [row["repo_name"], row["path"]] in [r[5:7] for r in sources["data"]]
        with browser_page(viewport={"width": 1280, "height": 1400}) as page:
            page.goto(inspector.url)
            page.get_by_label("Search").fill(word)
            page.get_by_role("button", name="Search").click()
            page.get_by_text(re.compile(r"^Results 1-")).first.wait_for(timeout=30_000)
            number = next(r[0] for r in results["data"] if r[2] == row["repo_name"])
            page.get_by_label("File #").fill(str(number))
            page.get_by_role("button", name="Open file").click()
            page.get_by_text("license:").first.wait_for(timeout=30_000)
            screenshot(page, "data_inspector_published.png")
            page.goto(membership.url)
            page.locator(".cm-content").first.click()  # the code editor (CodeMirror)
            page.keyboard.insert_text(row["content"][:4000])
            page.get_by_role("button", name="Check").click()
            page.locator("pre.membership-code mark").first.wait_for(timeout=30_000)
            screenshot(page, "membership_test_published.png")
    finally:
        inspector.kill()
        membership.kill()


def test_a_file_in_the_intake_that_is_not_a_request_is_skipped_and_named(hub, tmp_path):
    from huggingface_hub import HfApi

    HfApi(endpoint=hub.url, token="tok-alice").upload_file(
        path_or_fileobj=b"{not json", path_in_repo="requests/req-0000000000ff.json", repo_id=INTAKE, repo_type="dataset"
    )
    stored = len(_pushed_files(hub, "requests"))
    pulled = _cli_json(hub, tmp_path, "optout", "pull", "--from", INTAKE, "--registry", str(tmp_path / "r.sqlite"))
    assert list(pulled["skipped"]) == ["requests/req-0000000000ff.json"]
    assert "not JSON" in pulled["skipped"]["requests/req-0000000000ff.json"]
    assert pulled["imported_count"] == stored - 1


def test_a_space_without_its_token_or_its_hub_refuses_requests_saying_why(tmp_path, monkeypatch):
    from bigcode_release.errors import OptOutIntakeError
    from bigcode_release.optout.intake import HubIntake

    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    closed = f"http://127.0.0.1:{_free_port()}"  # nothing listens there: the Hub cannot be reached
    intake = HubIntake(INTAKE, token=None, endpoint=closed)
    for call in (lambda: intake.file("alice", [], None, None, "1.2.3.4"), lambda: intake.status("req-0123456789ab")):
        with pytest.raises(OptOutIntakeError, match="no HF_TOKEN secret .* nothing was filed"):
            call()
    unreachable = HubIntake(INTAKE, token="tok-space", endpoint=closed)
    with pytest.raises(OptOutIntakeError, match="could not be stored .*NOT filed"):
        unreachable.file("alice", [], None, None, "1.2.3.4")
    with pytest.raises(OptOutIntakeError, match="cannot be read right now"):  # not "no such request"
        unreachable.status("req-0123456789ab")
