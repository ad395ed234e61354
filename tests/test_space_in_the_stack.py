"""The "Am I in The Stack?" Space, launched on loopback and driven through gradio_client."""

import os

import pytest

from conftest import folder_recipe, make_repo_folder, run_cli_json

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    from gradio_client import Client

    from bigcode_release.cli import load_space
    tmp = tmp_path_factory.mktemp("space")
    repos = make_repo_folder(tmp)
    release = tmp / "release"
    run_cli_json("dataset", "build", str(folder_recipe(tmp, repos)), "--out", str(release))
    demo = load_space("in-the-stack").build_app(str(release), str(tmp / "registry.sqlite"))
    demo.queue(default_concurrency_limit=4)
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        yield Client(url, verbose=False), tmp
    finally:
        demo.close()


@pytest.mark.slow
def test_lookup_submission_and_status_through_the_api(space):
    client, tmp = space
    answer, table, _ = client.predict("ALICE", "v1.0", api_name="/check")
    assert "**ALICE** has" in answer
    assert {row[0] for row in table["data"]} >= {"alice/tools"}
    answer, table, _ = client.predict("nobody-at-all", "v1.0", api_name="/check")
    assert "is **not** in v1.0: no repository of this account was seen" in answer
    filed = client.predict("alice", "selected repositories", ["alice/tools"], "", "please remove", api_name="/submit")
    assert "Request **req-" in filed and "pending" in filed
    request_id = filed.split("**")[1]
    status = client.predict(request_id, api_name="/status")
    assert "pending" in status and "submitted" in status


@pytest.mark.slow
def test_bad_input_gives_a_message_and_the_space_keeps_answering(space):
    client, _ = space
    for username in ["", "bad--name", "'; DROP TABLE requests; --", "ｏｃｔｏ", "x" * 20_000]:
        answer, _, _ = client.predict(username, "v1.0", api_name="/check")
        assert answer.startswith("**Error:**")
    refused = client.predict("alice", "selected repositories", ["carol/web"], "", "", api_name="/submit")
    assert "belongs to 'carol', not to 'alice'" in refused
    assert client.predict("no-such-request", api_name="/status").startswith("**Error:**")
    answers = [client.predict("bob", "whole account", [], "", "", api_name="/submit") for _ in range(6)]
    assert "too many requests" in answers[-1]
    answer, _, _ = client.predict("alice", "v1.0", api_name="/check")
    assert "**alice** has" in answer
