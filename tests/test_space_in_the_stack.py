"""The "Am I in The Stack?" Space, launched on loopback and driven through gradio_client."""

import os
import re

import pytest
from conftest import folder_recipe, make_repo_folder, run_cli_json

from bigcode_release.optout.registry import OptOutRegistry
from tests.browser import CHROMIUM, screenshot
from tests.browser import launch as launch_browser

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A release built from a folder of checkouts (once for this module)."""
    tmp = tmp_path_factory.mktemp("space")
    run_cli_json("dataset", "build", str(folder_recipe(tmp, make_repo_folder(tmp))), "--out", str(tmp / "release"))
    return tmp


def _launch(tmp):
    from gradio_client import Client

    from bigcode_release.shipped import load_space

    demo = load_space("in-the-stack").build_app(str(tmp / "release"), str(tmp / "registry.sqlite"))
    demo.queue(default_concurrency_limit=4)
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    return demo, Client(url, verbose=False)


@pytest.fixture(scope="module")
def space(built):
    demo, client = _launch(built)
    try:
        yield client, built
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
    answers = [client.predict(f"bob-{n}", "whole account", [], "", "", api_name="/submit") for n in range(6)]
    assert "too many requests" in answers[-1]
    answer, _, _ = client.predict("alice", "v1.0", api_name="/check")
    assert "**alice** has" in answer


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test.sh installs it)")
def test_in_a_real_browser_a_user_checks_and_opts_out(built):
    from playwright.sync_api import sync_playwright

    demo, client = _launch(built)  # its own app: a fresh per-client rate limit
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            page = browser.new_page()
            page.goto(client.src)
            page.get_by_label("GitHub username").fill("Alice")
            page.get_by_role("button", name="Check").click()
            page.get_by_text("alice/tools").first.wait_for(timeout=30_000)
            page.get_by_text("Opt out", exact=True).first.click()
            page.get_by_role("button", name="Submit opt-out request").click()
            page.get_by_text("Request req-").first.wait_for(timeout=30_000)
            text = page.get_by_text("Request req-").first.inner_text()
            assert "pending" in text
            screenshot(page, "in_the_stack.png")
        finally:
            browser.close()
            demo.close()
    request_id = re.search(r"req-[0-9a-f]{12}", text).group(0)
    with OptOutRegistry(built / "registry.sqlite") as registry:  # what the page acknowledged is stored, as shown
        stored = registry.get(request_id)
    assert (stored.username, stored.scope, stored.status) == ("Alice", "account", "pending")


MALFORMED_THROUGH_THE_SPACE = [
    # (username, scope, repos, proof, message)
    *[
        (name, "whole account", [], "", "")
        for name in [
            "",
            " ",
            "-a",
            "a-",
            "a--b",
            "a" * 40,
            "ｏｃｔｏ",
            "оctocat",
            "octo cat",
            "octo_cat",
            "octo.cat",
            "a/b",
            "../../etc/passwd",
            "'; DROP TABLE requests; --",
            '" OR 1=1 --',
            "%00",
            "octo\ncat",
            "😀",
            "$(id)",
            "`id`",
            "<script>alert(1)</script>",
            "C:\\Windows",
            "*",
            "?",
            "a" * 20_000,
        ]
    ],
    *[
        ("alice", "selected repositories", repos, "", "")
        for repos in [
            [],
            ["alice"],
            ["alice/"],
            ["/tools"],
            ["alice/a/b"],
            ["alice/.."],
            ["alice/re po"],
            ["alice/" + "x" * 101],
            ["carol/web"],
            ["alice/tools;DROP"],
            ["alice/ｔｏｏｌｓ"],
            ["ALICE/../x"],
            ["alice/%2e%2e"],
        ]
    ],
    *[("alice", "whole account", [], proof, "") for proof in ["x" * 501, "y" * 20_000]],
    *[("alice", "whole account", [], "", message) for message in ["m" * 2001, "n" * 20_000]],
    ("alice", "no such scope", [], "", ""),
    ("", "", [], "", ""),
    ("alice", "selected repositories", ["a"] * 1001, "", ""),
    ("alice", "whole account", [], "", "\x00" * 2001),
    ("\x00", "whole account", [], "", ""),
    ("alice", "selected repositories", [""], "", ""),
    ("alice", "selected repositories", ["/"], "", ""),
    ("a" * 39 + "-", "whole account", [], "", ""),
]


@pytest.mark.slow
def test_fifty_malformed_submissions_each_get_a_clear_error_and_nothing_is_stored(built):
    from bigcode_release.optout.registry import OptOutRegistry

    assert len(MALFORMED_THROUGH_THE_SPACE) >= 50
    demo = None
    try:
        from gradio_client import Client

        from bigcode_release.shipped import load_space

        demo = load_space("in-the-stack").build_app(
            str(built / "release"), str(built / "malformed.sqlite"), submissions_per_minute=10_000
        )
        demo.queue(default_concurrency_limit=4)
        _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
        client = Client(url, verbose=False)
        from gradio_client.exceptions import AppError

        for username, scope, repos, proof, message in MALFORMED_THROUGH_THE_SPACE:
            try:
                answer = client.predict(username, scope, repos, proof, message, api_name="/submit")
            except AppError as exc:  # Gradio refuses a value outside a widget's choices itself
                answer = f"**Error:** {exc}"
                assert "is not in the list of choices" in str(exc)
            assert answer.startswith("**Error:**") and len(answer) < 500, (username[:40], scope, repos[:3], answer)
        answer, _, _ = client.predict("alice", "v1.0", api_name="/check")
        assert "**alice** has" in answer  # still answering
    finally:
        if demo is not None:
            demo.close()
    with OptOutRegistry(built / "malformed.sqlite") as registry:
        assert registry.requests() == []


@pytest.mark.slow
def test_only_accepted_submissions_count_and_proofs_must_be_issue_urls(built):
    demo, client = _launch(built)  # its own app: the default 5 accepted submissions per minute per client
    try:
        for proof in [
            "not a url at all",
            "javascript:alert(1)",
            "https://example.org/issues/1",
            "http://github.com/a/b",
        ]:
            refused = client.predict("alice", "whole account", [], proof, "", api_name="/submit")
            assert refused.startswith("**Error:** proof: give the URL of a GitHub issue"), refused
        accepted = [
            client.predict(
                f"rate-{n}", "whole account", [], "https://github.com/bigcode/opt-out/issues/7", "", api_name="/submit"
            )
            for n in range(5)
        ]
        assert all("filed for the whole account" in a for a in accepted), accepted  # refusals did not count
        assert "too many requests" in client.predict("rate-5", "whole account", [], "", "", api_name="/submit")
        for typed in ["@alice", "github.com/Alice", "https://github.com/alice/"]:
            answer, rows, _ = client.predict(typed, "v1.0", api_name="/check")
            assert answer.lower().startswith("**alice** has"), (typed, answer)
    finally:
        demo.close()
