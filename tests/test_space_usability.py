"""The three Spaces as a person uses them (issue 24), on a release built for it
(`tests/space_usability_release.py`): plain-language reasons, duplicates answered with the request
already filed, pages of results, identifiers typed as one word, license filters by component, code
shown as code, spans with the number of files holding them, plots whose labels fit. Through
gradio_client for the API, and in Debian's chromium for what a person sees (screenshots kept in
test-artifacts/ as evidence; the checks are on page text and element geometry)."""

from __future__ import annotations

import html
import json
import os
import re
import warnings

import pytest

from tests.browser import CHROMIUM, browser_page, screenshot
from tests.conftest import run_cli_json
from tests.space_usability_release import HEADER, LOADERS, UNIQUE, build_usability_release

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
pytestmark = pytest.mark.slow
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test.sh)")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_usability_release(tmp_path_factory.mktemp("usability"))


def _launch(name: str, *args, **kwargs):
    from gradio_client import Client

    from bigcode_release.shipped import load_space

    demo = load_space(name).build_app(*args, **kwargs)
    demo.queue(default_concurrency_limit=4)
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    return demo, Client(url, verbose=False)


@pytest.fixture(scope="module")
def in_the_stack(built):
    release, registry, _ = built
    demo, client = _launch("in-the-stack", str(release), str(registry))
    yield client
    demo.close()


@pytest.fixture(scope="module")
def inspector(built):
    demo, client = _launch("data-inspector", str(built[0]))
    yield client
    demo.close()


@pytest.fixture(scope="module")
def membership(built):
    demo, client = _launch("membership-test", str(built[0]))
    yield client
    demo.close()


def _why(table: dict, repo: str) -> str:
    return next(row[2] for row in table["data"] if row[0] == repo)


def test_a_lookup_explains_every_drop_in_plain_words_with_the_request_and_version(in_the_stack, built):
    _, _, request_id = built
    answer, table, _ = in_the_stack.predict("Mallory", "v1.0", api_name="/check")
    why = _why(table, "mallory/private")
    assert why.startswith("its owner asked to be removed (an opt-out request)")
    assert f"request {request_id}, removed from v1.0, built 20" in why and "opted_out" not in why
    # the account's request, by status and scope (not by id: an id is the key to its history)
    assert "Opt-out requests for this account: applied (the whole account, filed 20" in answer
    assert request_id not in answer
    _, table, _ = in_the_stack.predict("cleo", "v1.0", api_name="/check")
    assert _why(table, "cleo/engine").startswith("its license is not permissive")
    _, table, _ = in_the_stack.predict("ben", "v1.0", api_name="/check")  # included, with files left out
    assert _why(table, "ben/tools") == (
        "left out: 2 files: not a file type the dataset recognises as source code; "
        "1 file: an exact copy of a file kept from another repository"
    )
    cli = run_cli_json("optout", "lookup", "ben", "--release", str(built[0]))
    assert cli["versions"][0]["repos"][0]["why"] == _why(table, "ben/tools")


def test_a_duplicate_request_is_answered_with_the_one_already_filed(in_the_stack, built):
    from bigcode_release.optout.registry import OptOutRegistry

    first = in_the_stack.predict("ana", "selected repositories", ["ana/datasets"], "", "", api_name="/submit")
    request_id = re.search(r"req-[0-9a-f]{12}", first).group(0)
    again = in_the_stack.predict("ANA", "selected repositories", ["ana/datasets"], "", "", api_name="/submit")
    assert again.startswith(f"Already requested: **{request_id}** pending (ana/datasets, filed 20")
    assert again.endswith("Nothing new was filed.")
    whole = in_the_stack.predict("ana", "whole account", [], "", "", api_name="/submit")  # broader: filed
    whole_id = re.search(r"Request \*\*(req-[0-9a-f]{12})\*\* filed for the whole account", whole).group(1)
    for repos, scope in ([["ana/other"], "selected repositories"], [[], "whole account"]):
        answer = in_the_stack.predict("ana", scope, repos, "", "", api_name="/submit")
        assert answer.startswith("Already requested: ") and whole_id in answer, answer
    answer, _, _ = in_the_stack.predict("ana", "v1.0", api_name="/check")
    assert "pending (ana/datasets, filed" in answer and "pending (the whole account, filed" in answer
    assert request_id not in answer and whole_id not in answer
    with OptOutRegistry(built[1]) as registry:
        assert [r.id for r in registry.requests(username="ana")] == [request_id, whole_id]
    # duplicates are not accepted submissions: the client can still file its five a minute
    filed = [in_the_stack.predict(f"dup-{n}", "whole account", [], "", "", api_name="/submit") for n in range(3)]
    assert all("filed for the whole account" in answer for answer in filed), filed


def test_errors_name_what_was_typed_as_text_and_never_a_server_path(in_the_stack, built):
    _, _, request_id = built
    unknown = in_the_stack.predict("REQ-DEADBEEF0000", api_name="/status")
    assert unknown.startswith("**Error:** no request 'req-deadbeef0000' was filed here")
    assert str(built[0].parent) not in unknown and ".sqlite" not in unknown
    assert f"Request **{request_id}**" in in_the_stack.predict(request_id.upper(), api_name="/status")
    answer, _, _ = in_the_stack.predict("<script>alert(1)</script>", "v1.0", api_name="/check")
    assert "username '&lt;script&gt;alert\\(1\\)&lt;/script&gt;'" in answer  # shown, not run nor dropped


def test_search_pages_through_every_result_and_finds_identifiers_typed_as_one_word(inspector):
    message, first, page = inspector.predict("load_dataset", "(any)", "(any)", api_name="/search")
    total = LOADERS + 1  # every loader and the long module (the dropped copy is not in the data)
    assert message.startswith(f"Results 1-10 of {total} in v1.0") and page == 1
    message, second, page = inspector.predict("load_dataset", "(any)", "(any)", 1, api_name="/next_page")
    assert message.startswith(f"Results 11-{total} of {total}") and page == 2
    shown = [row[0] for row in first["data"] + second["data"]]
    assert len(shown) == len(set(shown)) == total
    message, again, _ = inspector.predict("load_dataset", "(any)", "(any)", 2, api_name="/previous_page")
    assert again["data"] == first["data"]
    joined, rows, _ = inspector.predict("loaddataset", "(any)", "(any)", api_name="/search")
    assert joined.startswith(f"Results 1-10 of {total}"), joined
    assert {row[0] for row in rows["data"]} <= set(shown)


def test_the_license_filter_matches_each_license_of_an_expression(inspector):
    from gradio_client.exceptions import AppError

    for license_ in ("MIT", "PSF-2.0"):
        message, rows, _ = inspector.predict("load_dataset", "(any)", license_, api_name="/search")
        assert message.startswith(f"Results 1-10 of {LOADERS + 1}") and rows["data"][0][4] == "MIT AND PSF-2.0"
    with pytest.raises(AppError, match="not in the list of choices"):  # only the licenses in the data are offered
        inspector.predict("load_dataset", "(any)", "MIT AND PSF-2.0", api_name="/search")


def test_browsing_starts_on_the_largest_language_and_opening_a_row_names_its_number(inspector, built):
    from bigcode_release.index.service import DataInspector

    assert DataInspector(built[0]).largest_language == "python"
    number, meta, text = inspector.predict("python", api_name="/browse")
    assert f"file #{int(number)}" in meta and text


def test_membership_counts_the_files_holding_each_span_and_attributes_only_copying(membership):
    text = HEADER + "\n\nclass Mine:\n    WHERE = 'nobody has this line anywhere in the data'\n\n\n" + UNIQUE
    summary, marked_html, sources, notice = membership.predict(text, 64, api_name="/check")
    rows = {row[0]: row for row in sources["data"]}
    header, function = rows[1], rows[2]
    assert header[1].startswith("1") and header[3:5] == [str(LOADERS + 2), "no (an idiom)"], header
    assert function[3:5] == ["1", "yes"] and function[5:7] == ["ana/datasets", "datasets/merge.py"]
    assert "datasets/merge.py" in notice and "loader_" not in notice  # only the copied span asks for a notice
    assert "found in at most 10 files" in summary and "span(s) that look copied" in summary
    # the code keeps every line, blank line and indent: the marked-up text is the text
    body = re.search(r'<pre class="membership-code">(.*)</pre>', marked_html, flags=re.S).group(1)
    assert html.unescape(re.sub(r"</?mark[^>]*>", "", body)) == text
    assert '<mark class="common"' in body and '<mark class="copied"' in body
    short, _, _, _ = membership.predict("x = 1\n", 512, api_name="/check")
    assert short.startswith("The text has 6 bytes, fewer than the shortest span asked (512 bytes)")


def test_plot_labels_fit_inside_the_image_and_every_language_is_drawn(built):
    from matplotlib.transforms import Bbox

    from bigcode_release.plotting import barh_figure

    stats = json.loads((built[0] / "dataset" / "stats.json").read_text())
    long_expression = "Apache-2.0 AND Apache-2.0 WITH LLVM-exception AND BSD-2-Clause AND BSD-3-Clause AND BSL-1.0"
    labels = [long_expression, *[row["license"] for row in stats["per_license"]]] * 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Tight layout not applied" would fail here
        figure = barh_figure(labels, [float(n) for n in range(len(labels))], "Kept source by license", "MiB")
    figure.canvas.draw()
    renderer, frame = figure.canvas.get_renderer(), figure.bbox
    texts = [t for axis in figure.axes for t in [*axis.get_yticklabels(), *axis.texts, axis.title] if t.get_text()]
    assert len(texts) > 20
    for text in texts:
        box = text.get_window_extent(renderer)
        assert Bbox.intersection(box, frame) is not None and frame.containsx(box.x0) and frame.containsx(box.x1)
        assert frame.containsy(box.y0) and frame.containsy(box.y1), text.get_text()
    languages = [row["language"] for row in stats["per_language"]]
    figure = barh_figure(languages, [1.0] * len(languages), "Kept source by language", "MiB", top=None)
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()][::-1] == languages


@needs_chromium
def test_in_chromium_the_stack_fits_a_phone_and_the_picker_follows_the_scope(in_the_stack):
    with browser_page(viewport={"width": 390, "height": 844}) as page:
        page.goto(in_the_stack.src)
        page.get_by_label("GitHub username").fill("ben")
        page.get_by_role("button", name="Check").click()
        page.get_by_text("of 1 repository").first.wait_for(timeout=30_000)
        reason = page.get_by_text("left out: 2 files").locator("visible=true").first
        reason.wait_for(timeout=30_000)
        box = reason.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box  # the reason column is on screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.get_by_text("Opt out", exact=True).first.click()
        picker = page.get_by_label("Repositories to remove")
        assert not picker.is_enabled()  # "whole account" is chosen: nothing to pick
        page.get_by_label("selected repositories").check()
        page.wait_for_function("() => !document.querySelector('input[aria-label=\"Repositories to remove\"]').disabled")
        assert picker.is_enabled()
        page.get_by_text("Follow a request", exact=True).first.click()
        page.get_by_label("Request id").fill("REQ-DEADBEEF0000")
        page.get_by_role("button", name="Status").click()
        page.get_by_text("was filed here").first.wait_for(timeout=30_000)
        assert "/" not in page.get_by_text("was filed here").first.inner_text()
        screenshot(page, "in_the_stack_phone.png")


@needs_chromium
def test_in_chromium_a_long_file_keeps_the_page_short_and_plots_are_whole(inspector):
    with browser_page(viewport={"width": 1280, "height": 900}) as page:
        page.goto(inspector.src)
        page.get_by_label("Search").fill("load_dataset")
        page.get_by_role("button", name="Search").click()
        page.get_by_text("Results 1-10 of").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Next page").click()
        page.get_by_text("Results 11-").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Previous page").click()
        page.get_by_text("Results 1-10 of").first.wait_for(timeout=30_000)
        page.get_by_text("datasets/everything.py").locator("visible=true").first.click()
        page.get_by_text("license: MIT AND PSF-2.0").first.wait_for(timeout=30_000)
        page.wait_for_function("() => document.querySelector('input[aria-label=\"File #\"]').value !== ''")
        number = page.get_by_label("File #").input_value()
        assert page.get_by_text(f"file #{number}").first.is_visible()  # the number is the row's file #
        assert page.evaluate("document.documentElement.scrollHeight") < 2 * 900  # 1,200 lines, scrolled inside
        page.get_by_text("Licenses and languages of the dataset").click()
        page.locator("img[src*='licenses']").first.wait_for(timeout=30_000)
        images = page.evaluate(
            """() => [...document.querySelectorAll("img[src*='licenses'], img[src*='languages']")].map(i => {
                const r = i.getBoundingClientRect();
                return [i.naturalWidth, i.naturalHeight, r.width, r.height];
            })"""
        )
        assert len(images) == 2
        for natural_width, natural_height, width, height in images:  # shown whole: no crop, no distortion
            assert width > 0 and abs(width / height - natural_width / natural_height) < 0.02, images
        screenshot(page, "data_inspector_pages_and_plots.png")


@needs_chromium
def test_in_chromium_membership_shows_code_as_code(membership):
    text = HEADER + "\n\n" + UNIQUE
    with browser_page(viewport={"width": 1280, "height": 900}) as page:
        page.goto(membership.src)
        page.locator(".cm-content").first.click()  # the input is a code editor
        page.keyboard.insert_text(text)
        page.get_by_role("button", name="Check").click()
        page.locator("pre.membership-code mark").first.wait_for(timeout=30_000)
        shown = page.evaluate(
            """() => { const pre = document.querySelector('pre.membership-code');
                       return [getComputedStyle(pre).fontFamily, pre.innerText,
                               getComputedStyle(document.querySelector('.cm-content')).fontFamily]; }"""
        )
        assert "monospace" in shown[0] and "monospace" in shown[2]
        assert shown[1].rstrip("\n") == text.rstrip("\n")  # every line, blank line and indent kept
        screenshot(page, "membership_code.png")


def test_every_reason_a_build_records_has_a_plain_explanation(built):
    from bigcode_release.data.drop_reasons import explain, reason_codes

    stats = json.loads((built[0] / "dataset" / "stats.json").read_text())
    recorded = {row["reason"] for row in stats["per_reason"]}
    assert recorded and recorded <= reason_codes(), recorded - reason_codes()
    assert all(explain(code) != code for code in recorded)


def test_a_version_built_before_the_per_reason_counts_still_answers_lookups(built, tmp_path):
    import shutil

    import pyarrow.parquet as pq

    from bigcode_release.optout.lookup import RepoLookup

    release = shutil.copytree(built[0], tmp_path / "release", symlinks=True)
    table = release / "dataset-versions" / "v1.0" / "repos.parquet"
    pq.write_table(pq.read_table(table).drop_columns(["dropped_by_reason"]), table)  # as an earlier toolkit wrote it
    (release / "lookup-index.parquet").unlink(missing_ok=True)  # built again from the tables
    answer = RepoLookup(release).lookup("cleo", "v1.0")[0]
    assert answer.repos[0]["dropped_by_reason"] == []
    assert answer.why(answer.repos[0]).startswith("its license is not permissive")


def test_a_span_from_a_vendored_copy_names_the_project_the_code_comes_from(tmp_path):
    from bigcode_release.data.build import build_dataset
    from bigcode_release.index.build import build_indexes
    from bigcode_release.index.service import DataInspector, MembershipTest
    from tests.conftest import write_recipe
    from tests.test_optout_lineage import _code, _dist

    site = tmp_path / "site"
    _dist(site, "upstream", "1.1", {"upstream/core.py": _code(1)}, "https://github.com/upowner/upstream")
    vendored = site / "host" / "_vendor"
    _dist(vendored, "upstream", "1.0", {"upstream/core.py": _code(2)}, "https://github.com/upowner/upstream")
    extra = [
        "host/_vendor/upstream/core.py",
        *[f"host/_vendor/upstream-1.0.dist-info/{n}" for n in ("METADATA", "RECORD")],
    ]
    _dist(site, "host", "2.0", {"host/app.py": _code(3)}, "https://github.com/hostowner/host", record_extra=extra)
    recipe = write_recipe(
        tmp_path,
        {
            "source": {"kind": "installed", "site_packages": [str(site)], "include": ["host", "upstream"]},
            "executor": {"tasks": 1, "workers": 1},
            "decontamination": {"enabled": False},
        },
    )
    release = tmp_path / "release"
    build_dataset(recipe, release, show_progress=False)
    build_indexes(release, show_progress=False)
    _, _, rows, notice = MembershipTest(release).check(_code(2), 64)
    row = next(r for r in rows if r[5] == "hostowner/host")
    assert row[6] == "host/_vendor/upstream/core.py" and row[8] == "upowner/upstream/upstream/core.py (MIT)", row
    assert notice.splitlines()[1].startswith("- upowner/upstream, upstream/core.py (MIT): https://github.com/upowner/")
    assert "as vendored in hostowner/host, host/_vendor/upstream/core.py" in notice
    inspector = DataInspector(release)
    found = inspector.search('"' + _code(2).splitlines()[0] + '"', "(any)", "(any)")[1]
    meta, _ = inspector.open(next(r[0] for r in found if r[2] == "hostowner/host"))
    assert "vendored copy of **upowner/upstream** / upstream/core.py" in meta
