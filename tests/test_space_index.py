"""The data-inspector and membership-test Spaces on a small indexed release, through gradio_client
and in a real browser (screenshots in test-artifacts/)."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, screenshot
from tests.browser import launch as launch_browser
from tests.test_index import LOADER, release  # noqa: F401  (the module's indexed release fixture)

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
pytestmark = pytest.mark.slow


def launch(name: str, release_dir: Path):
    from gradio_client import Client

    from bigcode_release.shipped import load_space

    demo = load_space(name).build_app(str(release_dir))
    demo.queue(default_concurrency_limit=4)
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    return demo, Client(url, verbose=False)


@pytest.fixture(scope="module")
def inspector(release):  # noqa: F811
    demo, client = launch("data-inspector", release)
    yield client
    demo.close()


@pytest.fixture(scope="module")
def membership(release):  # noqa: F811
    demo, client = launch("membership-test", release)
    yield client
    demo.close()


def test_search_with_a_filter_then_open_and_browse(inspector):
    message, results, page = inspector.predict("LoadDataset", "java", "(any)", api_name="/search")
    assert message.startswith("Results 1-1 of 1 in v1.0") and results["data"][0][2] == "carol/tools" and page == 1
    meta, text = inspector.predict(results["data"][0][0], api_name="/open")
    assert "carol/tools" in meta and "Apache-2.0" in meta and "public static String LoadDataset" in text
    number, meta, text = inspector.predict("python", api_name="/browse")
    assert "alice/loaders" in meta and text.rstrip() == LOADER.rstrip()  # the code widget drops the final newline


def test_bad_input_gets_a_message_and_the_inspector_keeps_answering(inspector):
    for query in ["", "(((", '"', "x" * 5000, "title:a AND (b"]:
        message, rows, _ = inspector.predict(query, "(any)", "(any)", api_name="/search")
        assert message.startswith("**Error:**") or message.endswith("no filter"), query
    assert inspector.predict(123456, api_name="/open")[0].startswith("**Error:**")
    assert inspector.predict("load_dataset", "(any)", "(any)", api_name="/search")[0].startswith("Results 1-2 of 2")


def test_membership_highlights_spans_with_sources_and_notice(membership):
    text = "import os\n\n" + LOADER[LOADER.index("def load_dataset") :] + "\nprint('mine')\n"
    summary, highlighted, sources, notice = membership.predict(text, 64, api_name="/check")
    marked = re.findall(r'<mark class="copied"[^>]*>(.*?)</mark>', highlighted, flags=re.S)
    assert marked and html.unescape(marked[0]) in LOADER and "in v1.0" in summary
    assert sources["data"][0][3:] == ["1", "yes", "alice/loaders", "loaders/core.py", "MIT", ""]  # not vendored
    assert "alice/loaders" in notice
    for bad in ["", "a\x00b", "x" * 300_000]:
        assert membership.predict(bad, 64, api_name="/check")[0].startswith("**Error:**")
    assert membership.predict(text, 64, api_name="/check")[2]["data"]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test.sh installs it)")
def test_in_a_real_browser_search_open_and_membership(release):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    inspector_demo, inspector_client = launch("data-inspector", release)
    membership_demo, membership_client = launch("membership-test", release)
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(inspector_client.src)
            page.get_by_label("Search").fill("load_dataset")
            page.get_by_role("button", name="Search").click()
            page.get_by_text("loaders/core.py").first.wait_for(timeout=30_000)
            page.get_by_text("loaders/core.py").first.click()
            page.get_by_text("license: MIT").first.wait_for(timeout=30_000)
            screenshot(page, "data_inspector.png")
            page.goto(membership_client.src)
            page.locator(".cm-content").first.click()  # the code editor (CodeMirror)
            page.keyboard.insert_text("x = 1\n" + LOADER)
            page.get_by_role("button", name="Check").click()
            page.locator("pre.membership-code mark").first.wait_for(timeout=30_000)
            expect(page.get_by_label("Attribution notice")).to_have_value(
                re.compile("Portions of this code come from"), timeout=30_000
            )
            screenshot(page, "membership_test.png")
        finally:
            browser.close()
            inspector_demo.close()
            membership_demo.close()
