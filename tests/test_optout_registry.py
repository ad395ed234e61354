"""The opt-out registry: lifecycle, identity, bad input, crash safety, export, and lookups across versions."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import REPO_ROOT, folder_recipe, run_cli, run_cli_json

from bigcode_release.errors import OptOutRequestError, RegistryError
from bigcode_release.optout.export import export_optouts
from bigcode_release.optout.export_format import read_optout_list
from bigcode_release.optout.registry import OptOutRegistry


@pytest.fixture
def registry(tmp_path):
    with OptOutRegistry(tmp_path / "registry.sqlite") as reg:
        yield reg


def test_lifecycle_is_an_append_only_history(registry):
    request = registry.submit("Octo-Cat", ["octo-cat/Hello", "OCTO-CAT/world"], proof="https://github.com/o/r/issues/1")
    assert (request.status, request.scope, request.repos) == ("pending", "repos", ("octo-cat/Hello", "OCTO-CAT/world"))
    assert registry.approve(request.id, by="maint").decided_by == "maint"
    assert registry.mark_applied(request.id, "v1.1").first_version == "v1.1"
    assert registry.mark_applied(request.id, "v1.2").first_version == "v1.1"
    assert [e.kind for e in registry.history(request.id)] == ["submitted", "approved", "applied"]
    other = registry.submit("someone")
    assert registry.reject(other.id, by="maint", reason="could not verify").status == "rejected"
    with pytest.raises(RegistryError, match="is rejected; it cannot be approved"):
        registry.approve(other.id, by="maint")
    with pytest.raises(RegistryError, match="no request"):
        registry.approve("req-missing", by="maint")
    for statement in ("UPDATE requests SET username = 'x'", "DELETE FROM events"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            registry._db.execute(statement)
    assert registry.schema_version == 1
    assert registry._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_request_for_someone_elses_repository_is_refused(registry):
    with pytest.raises(OptOutRequestError, match="belongs to 'torvalds', not to 'octocat'"):
        registry.submit("octocat", ["octocat/mine", "torvalds/linux"])
    assert registry.requests() == []


MALFORMED = [
    "",
    " ",
    "-start",
    "end-",
    "double--hyphen",
    "a" * 40,
    "ｏｃｔｏｃａｔ",
    "оctocat",
    "octo cat",
    "octo_cat",
    "octo.cat",
    "octo/cat",
    "../etc/passwd",
    "'; DROP TABLE requests; --",
    '" OR 1=1 --',
    "octo%00cat",
    "octo\ncat",
    "octo\x00cat",
    "😀",
    "$(rm -rf /)",
    "`id`",
    "<script>alert(1)</script>",
    "C:\\Windows",
    "octo*",
    "octo?",
    None,
    42,
    ["octocat"],
    {"user": "octocat"},
    "a" * 10_000,
]
MALFORMED_REPOS = [
    ["octocat"],
    ["octocat/"],
    ["/repo"],
    ["octocat/a/b"],
    ["octocat/.."],
    ["octocat/re po"],
    ["octocat/" + "x" * 101],
    ["otherowner/repo"],
    ["octocat/repo;DROP"],
    ["octocat/ｒｅｐｏ"],
    [None],
    [42],
    ["octocat/../../x"],
    ["octocat/repo"] * 1 + [f"octocat/x{i}" for i in range(1001)],
]


@pytest.mark.parametrize("username", MALFORMED)
def test_malformed_usernames_get_a_clear_error_and_write_nothing(registry, username):
    with pytest.raises(OptOutRequestError, match="username"):
        registry.submit(username)
    assert registry.requests() == []


@pytest.mark.parametrize("repos", MALFORMED_REPOS, ids=[str(i) for i in range(len(MALFORMED_REPOS))])
def test_malformed_repositories_get_a_clear_error_and_write_nothing(registry, repos):
    with pytest.raises(OptOutRequestError, match="repositor|repos"):
        registry.submit("octocat", repos)
    assert registry.requests() == []


def test_oversized_message_and_proof_are_refused(registry):
    with pytest.raises(OptOutRequestError, match="message: at most 2000"):
        registry.submit("octocat", message="x" * 2001)
    with pytest.raises(OptOutRequestError, match="proof: at most 500"):
        registry.submit("octocat", proof="https://" + "x" * 600)


WRITER = """
import sys
from bigcode_release.optout.registry import OptOutRegistry
registry = OptOutRegistry(sys.argv[1])
for i in range(100000):
    request = registry.submit(f"user-{i}", message="x" * 200)
    print(request.id, flush=True)
"""


def test_a_request_is_acknowledged_only_after_its_transaction_committed(tmp_path):
    """Another connection sees only committed rows: whatever submit() and approve() return is
    already in the file, with its event, before the caller can acknowledge it."""
    path = tmp_path / "registry.sqlite"
    with OptOutRegistry(path) as registry:
        request = registry.submit("octocat", ["octocat/hello"])
        other = sqlite3.connect(path)
        try:
            assert other.execute("SELECT username FROM requests WHERE id = ?", (request.id,)).fetchall() == [
                ("octocat",)
            ]
            registry.approve(request.id, by="maintainer")
            kinds = other.execute("SELECT kind FROM events WHERE request_id = ? ORDER BY seq", (request.id,))
            assert [k for (k,) in kinds] == ["submitted", "approved"]
        finally:
            other.close()


def test_smoke_a_writer_killed_mid_submission_leaves_the_file_whole(tmp_path):
    """A smoke test: SQLite keeps committed rows through a kill whatever `synchronous` says; this
    shows the file stays intact and holds every acknowledged request."""
    path = tmp_path / "registry.sqlite"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT
    )
    acknowledged = []
    deadline = time.monotonic() + 60
    while len(acknowledged) < 200 and time.monotonic() < deadline:
        acknowledged.append(writer.stdout.readline().strip())
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert len(acknowledged) == 200
    with OptOutRegistry(path) as registry:
        assert registry.integrity_check() == "ok"
        stored = {r.id for r in registry.requests()}
    assert set(acknowledged) <= stored


def test_export_writes_approved_requests_for_the_build_and_a_card(registry, tmp_path):
    whole = registry.submit("octocat")
    some = registry.submit("hubot", ["hubot/a", "hubot/b"])
    registry.submit("pending-person")
    rejected = registry.submit("nope")
    registry.approve(whole.id, by="m")
    registry.approve(some.id, by="m")
    registry.reject(rejected.id, by="m", reason="no")
    result = export_optouts(registry, tmp_path / "export")
    for path in (result.jsonl, result.parquet):
        listed = read_optout_list(path)
        assert listed.match("OctoCat/anything") == whole.id and listed.match("hubot/B") == some.id
        assert listed.match("hubot/c") is None and listed.match("pending-person/x") is None
    assert "approved requests: **2**" in result.card.read_text()


@pytest.mark.slow
def test_an_approved_optout_is_absent_from_the_next_version_and_lookup_says_why(tmp_path, repo_folder):
    release, registry_path = tmp_path / "release", tmp_path / "registry.sqlite"
    run_cli_json("dataset", "build", str(folder_recipe(tmp_path, repo_folder)), "--out", str(release))
    before = run_cli_json("optout", "lookup", "ALICE", "--release", str(release))
    assert before["versions"][0]["in_this_version"] and {r["repo_name"] for r in before["versions"][0]["repos"]} >= {
        "alice/tools"
    }
    request = run_cli_json("optout", "submit", "alice", "--repo", "alice/tools", "--registry", str(registry_path))
    assert request["status"] == "pending"
    run_cli("optout", "approve", request["id"], "--by", "maintainer", "--registry", str(registry_path))
    export = run_cli_json("optout", "export", "--out", str(tmp_path / "optouts"), "--registry", str(registry_path))
    recipe = folder_recipe(tmp_path, repo_folder, version="v1.1", optout={"list": export["jsonl"]})
    run_cli_json("dataset", "build", str(recipe), "--out", str(release))
    after = run_cli_json("optout", "lookup", "alice", "--release", str(release))
    by_version = {v["version"]: {r["repo_name"]: r for r in v["repos"]} for v in after["versions"]}
    assert by_version["v1.0"]["alice/tools"]["included"] is True
    assert by_version["v1.1"]["alice/tools"]["included"] is False
    assert by_version["v1.1"]["alice/tools"]["drop_reason"] == "opted_out"
    assert by_version["v1.1"]["alice/tools"]["optout_request_id"] == request["id"]
    nobody = run_cli_json("optout", "lookup", "nobody", "--release", str(release), "--version", "v1.1")
    assert nobody["versions"] == [{"version": "v1.1", "in_this_version": False, "repos": []}]
    shown = run_cli("optout", "lookup", "nobody", "--release", str(release)).stdout
    assert "nobody is not in this version" in shown
    # applied only once its removal is verified on the version's indexes and shards
    waiting = run_cli_json("optout", "sync", "--release", str(release), "--registry", str(registry_path))
    assert waiting["applied"] == {} and "index build" in waiting["waiting"][request["id"]]
    run_cli_json("index", "build", str(release), "--version", "v1.1")
    run_cli_json("tokenizer", "train", str(release), "--vocab-size", "300", "--sample-mb", "1")
    run_cli_json("tokenize", str(release), "--validation-fraction", "0.2")
    synced = run_cli_json("optout", "sync", "--release", str(release), "--registry", str(registry_path))
    assert list(synced["applied"]) == [request["id"]] and "removed in v1.1" in synced["applied"][request["id"]]
    again = run_cli_json("optout", "sync", "--release", str(release), "--registry", str(registry_path))
    assert again == {"applied": {}, "failed": {}, "waiting": {}}
    status = run_cli_json(
        "optout", "status", request["id"], "--registry", str(registry_path), "--release", str(release)
    )
    assert [e["kind"] for e in status["events"]] == ["submitted", "approved", "applied"]
    assert status["first_version"] == "v1.1" and status["receipt"]["verified"]
    assert json.loads((tmp_path / "optouts" / "optout-list.jsonl").read_text().splitlines()[0])["repo"] == "alice/tools"


class _FakeGitHub:
    """A loopback server answering GitHub's `GET /repos/{owner}/{repo}/issues/{n}`."""

    def __init__(self, issues: dict[str, str]):
        import http.server
        import threading

        owner_by_path = issues

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                login = owner_by_path.get(self.path)
                body = json.dumps({"user": {"login": login}} if login else {"message": "Not Found"}).encode()
                self.send_response(200 if login else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()


def test_a_verified_proof_is_approved_at_once_and_others_wait(registry):
    from functools import partial

    from bigcode_release.optout.proof import check_proof

    github = _FakeGitHub({"/repos/bigcode/opt-out/issues/7": "Octocat"})
    try:
        checker = partial(check_proof, proof_repository="bigcode/opt-out", api=github.url)
        verified = registry.submit("octocat", proof="https://github.com/bigcode/opt-out/issues/7", auto_approve=checker)
        assert (verified.status, verified.decided_by) == ("approved", "auto:proof")
        impostor = registry.submit("mallory", proof="https://github.com/bigcode/opt-out/issues/7", auto_approve=checker)
        assert impostor.status == "pending"
        assert registry.history(impostor.id)[0].detail["proof_check"]["outcome"] == "rejected"
        elsewhere = registry.submit("octocat", proof="https://github.com/evil/repo/issues/7", auto_approve=checker)
        assert elsewhere.status == "pending"
    finally:
        github.close()
    offline = partial(check_proof, proof_repository="bigcode/opt-out", api="http://127.0.0.1:9", timeout=1)
    waiting = registry.submit("octocat", proof="https://github.com/bigcode/opt-out/issues/7", auto_approve=offline)
    assert waiting.status == "pending"
    assert registry.history(waiting.id)[0].detail["proof_check"]["outcome"] == "unverified"
