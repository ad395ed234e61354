"""The transparency report: both shipped editions of the index with the published scores, statuses
that mean what they say (measured, derived, estimated, statement, draft, not produced, missing), Hub
claims only after a real push, every process of a resumed run counted, power counters read where the
machine has them, a model card of derived facts only, and a removed measured input that turns its
indicators to missing and the push to a refusal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bigcode_release.hardware import PowerCounter
from bigcode_release.layout import ReleaseLayout
from bigcode_release.release.plan import release_transparency
from bigcode_release.release.transparency.checks import CHECKS
from bigcode_release.release.transparency.evidence import one_significant
from bigcode_release.release.transparency.report import EDITIONS, load_edition, statements_path
from tests.conftest import CLI, REPO_ROOT, run_cli, tiny_train_recipe
from tests.hub_server import FakeHub, RunningHub
from tests.test_release import push

pytestmark = pytest.mark.slow
STATS_INDICATORS = {13, 14, 16, 17, 18, 46}  # 2025 indicators read from the dataset's stats.json


def copy_release(release: Path, folder: Path) -> Path:
    """A copy of the release as it was before any push (other test modules push the shared fixture)."""
    target = folder / "release"
    shutil.copytree(release, target, symlinks=True)
    (target / "hub-release.json").unlink(missing_ok=True)
    return target


def _by_number(report) -> dict:
    rows = report["indicators"] if isinstance(report, dict) else [r.__dict__ for r in report.results]
    return {r["number"]: r for r in rows}


def test_both_editions_ship_their_100_indicators_and_the_published_scores():
    newest, older = load_edition("2025-12"), load_edition("2024-05")
    assert EDITIONS == ("2025-12", "2024-05")
    for edition in (newest, older):
        assert [i.number for i in edition.indicators] == list(range(1, 101))
        assert {i.domain for i in edition.indicators} == {"Upstream", "Model", "Downstream"}
        assert "stanford-crfm/fmti" in edition.source and edition.definitions.startswith("https://github.com/")
        assert {i.check for i in edition.indicators} - {"human"} <= set(CHECKS)
    assert newest.best == ("IBM", 95) and older.best == ("BigCode", 85)
    scores = [len(s) for s in newest.scores.values()]
    assert len(scores) == 13 and round(sum(scores) / len(scores), 1) == 40.7  # the index's published mean
    subdomains = {(i.domain, i.subdomain) for i in newest.indicators}
    assert len(subdomains) == 19 and sum(newest.subdomain_counts("IBM").values()) == 95
    with pytest.raises(Exception, match="no transparency index edition '2023-10'"):
        load_edition("2023-10")


def test_one_significant_figure():
    assert [one_significant(v) for v in (20894, 306563609, 7.5e13, 0.14, 0.0031, 15354112, 0)] == [
        "2e4",
        "3e8",
        "8e13",
        "0.1",
        "0.003",
        "2e7",
        "0",
    ]


def test_a_local_release_says_what_it_measured_derived_and_estimated_and_claims_nothing_of_the_hub(
    publishable_release, tmp_path
):
    release = copy_release(publishable_release, tmp_path)
    report = json.loads(run_cli("release", "transparency", str(release), "--json").stdout)
    assert report["edition"] == "2025-12" and report["best_published"] == {"developer": "IBM", "score": 95}
    rows = _by_number(report)
    assert (rows[16]["status"], rows[16]["evidence"][0]) == (
        "measured",
        "dataset-versions/v1.0/stats.json: totals.kept_files",
    )
    assert rows[1]["status"] == "derived" and rows[1]["evidence"] == [
        "dataset-versions/v1.0/manifest.json: inputs.source"
    ]
    assert rows[1]["value"].startswith("source code of the Python distributions installed")
    assert rows[3]["status"] == "derived" and rows[3]["value"].startswith("none:")
    assert rows[36]["status"] == "derived" and "(grouped-query attention)" in rows[36]["value"]
    assert rows[46]["status"] == "measured" and "humaneval" in rows[46]["value"]
    for number in (19, 41, 62):  # published, open weights, channels: only a push can say
        assert rows[number]["status"] == "not produced" and "never pushed" in rows[number]["value"], rows[number]
    assert (
        rows[26]["status"] == "estimated" and "estimate:" in rows[26]["value"] and "1 process(es)" in rows[26]["value"]
    )
    assert rows[27]["status"] == "estimated"
    assert rows[64]["evidence"] == ["recipes/release.yaml (shipped): model.license, model.gate"]
    assert rows[10]["status"] == "draft" and rows[10]["confirm_by"] == "the release's maintainers"
    assert (release / "train" / "tiny-test" / "eval").is_dir()  # the fixture evaluates (CI has the sandbox)
    assert rows[44]["status"] == "measured" and "humaneval: pass@1" in rows[44]["value"]
    assert (
        "`bigcode-release eval <release>/train/tiny-test/checkpoints/step-000006 --tasks humaneval --n 1"
        in (rows[45]["value"])
    )
    counted = sum(r["status"] in ("measured", "derived", "statement") for r in report["indicators"])
    assert report["score"] == counted and report["counts"]["estimated"] == 2
    assert sum(row["indicators"] for row in report["comparison"]) == 100 and len(report["comparison"]) == 19
    by_subdomain = {row["subdomain"]: row for row in report["comparison"]}
    # IBM's counts joined from the scores file (Dec2025_scores.csv has no subdomain column)
    assert (by_subdomain["Capabilities"]["IBM"], by_subdomain["Impact"]["IBM"]) == (3, 6)
    usage = by_subdomain["Usage data"]
    assert (usage["IBM"], usage["best"], usage["best_by"]) == (4, 5, "Writer")  # the best is not always IBM
    text = (release / "transparency" / "report-2025-12.md").read_text()
    assert text == (release / "transparency" / "report.md").read_text()
    assert f"Score: **{report['score']} / 100**" in text and "Best published score in this edition: IBM 95" in text
    assert "| Upstream | Data Acquisition | 12 |" in text and "| 16 | Data size | measured |" in text
    older = json.loads(run_cli("release", "transparency", str(release), "--edition", "2024-05", "--json").stdout)
    assert older["best_published"] == {"developer": "BigCode", "score": 85}
    assert _by_number(older)[24]["status"] == "estimated" and _by_number(older)[19]["status"] == "not produced"
    assert (release / "transparency" / "statements.yaml").is_file()


def test_a_confirmed_statement_counts_and_a_draft_does_not(publishable_release, tmp_path):
    release = copy_release(publishable_release, tmp_path)
    before = release_transparency(release)
    path = statements_path(ReleaseLayout.at(release), "2025-12")
    statements = yaml.safe_load(path.read_text())
    statements["statements"][25] = {"statement": "Compute: the maintainers' own machine.", "confirmed": True}
    statements["statements"][28]["statement"] = ""
    statements["statements"][28]["confirmed"] = True  # confirmed but empty: still a draft
    path.write_text(yaml.safe_dump(statements))
    after = release_transparency(release)
    status = {r.number: r.status for r in after.results}
    assert status[25] == "statement" and status[28] == "draft" and after.score == before.score + 1


def test_after_a_push_the_access_indicators_are_read_from_what_the_push_recorded(publishable_release, tmp_path):
    release = copy_release(publishable_release, tmp_path)
    hub = FakeHub({"tok-alice": "alice"}, {"bigcode": {"alice": "admin"}})
    with RunningHub(hub):
        push(release, hub.url, "tok-alice", tmp_path / "hf")
    rows = {r.number: r for r in release_transparency(release).results}
    for number in (19, 41, 62):
        assert rows[number].status == "measured", (number, rows[number].value)
        assert rows[number].evidence[0].startswith("hub-release.json: ")
    assert f"{hub.url}/datasets/bigcode/" in rows[19].value and "gated" in rows[19].value
    record = json.loads((release / "hub-release.json").read_text())
    for repo in record["repos"]:
        if repo["kind"] == "dataset":
            repo["tag"] = "v0.9"  # a push of another version says nothing of this one
    (release / "hub-release.json").write_text(json.dumps(record))
    rows = {r.number: r for r in release_transparency(release).results}
    assert rows[19].status == "not produced" and "did not publish dataset v1.0" in rows[19].value


def test_a_resumed_run_counts_both_processes_and_a_power_counter_makes_energy_measured(
    tokenized_release, tmp_path, monkeypatch
):
    from bigcode_release.train.recipe import load_train_recipe
    from bigcode_release.train.torch_engine import train_torch

    release = copy_release(tokenized_release, tmp_path)
    powercap = tmp_path / "powercap" / "intel-rapl:0"
    powercap.mkdir(parents=True)
    (powercap / "name").write_text("package-0\n")
    (powercap / "energy_uj").write_text("1000\n")
    (powercap / "max_energy_range_uj").write_text("262143328850\n")
    monkeypatch.setenv("BIGCODE_RELEASE_POWERCAP", str(tmp_path / "powercap"))
    recipe = load_train_recipe(tiny_train_recipe(tmp_path, release, batch={"train_steps": 6}))
    train_torch(recipe, stop_after=3, show_progress=False)  # interrupted at step 3 ...
    train_torch(recipe, show_progress=False)  # ... and resumed to the end
    manifest = json.loads((release / "train" / "tiny-test" / "manifest.json").read_text())
    processes = manifest["run"]["processes"]
    records = [
        json.loads(p.read_text()) for p in sorted((release / "train" / "tiny-test" / "processes").glob("*.json"))
    ]
    assert processes["count"] == 2 and [(r["steps_from"], r["steps_to"]) for r in records] == [(0, 3), (3, 6)]
    assert processes["wall_seconds"] == round(sum(r["wall_seconds"] for r in records), 1)
    assert all(r["wall_seconds"] > 0 for r in records)  # the interrupted process's time is kept, not only the last
    assert processes["tokens"] == manifest["run"]["tokens"] == 6 * 4 * 64
    assert processes["machines"][0]["machine"]["cpu_model"] and processes["power_counters"] == ["RAPL package-0"]
    rows = {r.number: r for r in release_transparency(release).results}
    assert rows[23].status == "measured" and "2 process(es)" in rows[23].value
    assert rows[26].status == "measured" and "read from RAPL package-0 over 2 process(es)" in rows[26].value
    assert rows[27].status == "estimated" and "from measured energy" in rows[27].value
    assert "cpu_model" in rows[24].value and "read from the machine" in rows[24].value


def test_the_power_counter_reads_package_domains_and_adds_up_wrap_arounds(tmp_path):
    from bigcode_release.train.processes import ProcessRecord

    domains = {"intel-rapl:0": ("package-0", 5_000_000), "intel-rapl:1": ("package-1", 100)}
    domains |= {"intel-rapl:0:0": ("core", 7), "intel-rapl:2": ("psys", 9)}  # inside a package / across all
    for folder, (name, energy) in domains.items():
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "name").write_text(f"{name}\n")
        (tmp_path / folder / "energy_uj").write_text(f"{energy}\n")
        (tmp_path / folder / "max_energy_range_uj").write_text("10000000\n")  # wraps at 10 J
    counter = PowerCounter(tmp_path)
    assert [d.name for d in counter.domains] == ["intel-rapl:0", "intel-rapl:1"] and counter.name == (
        "RAPL package-0, package-1"
    )
    record = ProcessRecord(tmp_path / "run", 0, {"device": "cpu"}, counter)
    for energy in (9_000_000, 2_000_000, 8_000_000):  # package-0 wraps once between two samples
        (tmp_path / "intel-rapl:0" / "energy_uj").write_text(f"{energy}\n")
        record.sample()
    (tmp_path / "intel-rapl:1" / "energy_uj").write_text("50\n")  # package-1 wraps too
    record.update(1, 10)
    # package-0: 4 + 3 + 6 J over two wraps of its 10 J counter; package-1: 9.99995 J
    assert json.loads(record.path.read_text())["energy_joules"] == pytest.approx(13.0 + 9.99995, abs=1e-3)
    (tmp_path / "intel-rapl:0" / "max_energy_range_uj").write_text("")  # a wrap that cannot be undone
    (tmp_path / "intel-rapl:0" / "energy_uj").write_text("1\n")
    record.update(2, 20)
    assert json.loads(record.path.read_text())["energy_joules"] is None  # unknown, never a wrong number
    assert not PowerCounter(tmp_path / "absent").available


def test_the_model_card_states_derived_facts_and_says_multi_head_when_kv_heads_equal_heads(
    publishable_release, tmp_path
):
    from huggingface_hub import ModelCard

    from bigcode_release.release.plan import make_plan
    from bigcode_release.release.settings import load_release_settings

    release = copy_release(publishable_release, tmp_path)

    def card_text() -> str:
        model = next(p for p in make_plan(release, "bigcode", load_release_settings()) if p.kind == "model")
        return ModelCard.load(model.card().local).text

    text = card_text()
    assert "| 36 | Deeper model properties | derived |" in text and "Llama (grouped-query attention)" in text
    assert "special tokens: `<|endoftext|>`" in text and "`<fim_prefix>`" in text and "StarCoder's" not in text
    assert "| energy | " in text and "(estimated)" in text and "1 process(es), resumes included" in text
    checkpoint = sorted((release / "train" / "tiny-test" / "checkpoints").iterdir())[-1]
    config = json.loads((checkpoint / "config.json").read_text())
    config["num_key_value_heads"] = config["num_attention_heads"]
    (checkpoint / "config.json").unlink()  # a copy of the release: its files may be hard links
    (checkpoint / "config.json").write_text(json.dumps(config))
    text = card_text()
    assert "Llama (multi-head attention)" in text and "grouped-query" not in text.split("## Transparency")[0]


def test_removing_the_dataset_stats_turns_its_indicators_missing_and_refuses_the_push(publishable_release, tmp_path):
    release = copy_release(publishable_release, tmp_path)
    (Path(os.path.realpath(release / "dataset")) / "stats.json").unlink()
    report = release_transparency(release)
    missing = {r.number for r in report.results if r.status == "missing"}
    assert STATS_INDICATORS <= missing
    assert all("stats.json is missing" in r.value for r in report.results if r.number in STATS_INDICATORS)
    hub = FakeHub({"tok-alice": "alice"}, {"bigcode": {"alice": "admin"}})
    with RunningHub(hub):
        env = {
            **os.environ,
            "HF_ENDPOINT": hub.url,
            "HF_HUB_DISABLE_XET": "1",
            "HF_TOKEN": "tok-alice",
            "HF_HOME": str(tmp_path / "hf"),
        }
        result = subprocess.run(
            [*CLI, "release", "push", str(release), "--org", "bigcode"],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=env,
        )
    assert result.returncode == 2 and "measured inputs missing" in result.stderr and "#16 Data size" in result.stderr
    assert hub.repos == {}


def test_a_release_without_a_model_is_not_blocked_and_says_not_produced(tokenized_release, tmp_path):
    release = copy_release(tokenized_release, tmp_path)
    report = release_transparency(release)
    status = {r.number: r.status for r in report.results}
    assert status[35] == "not produced" and status[21] == "not produced" and not report.blocking()
    assert status[16] == "measured"


def test_the_feedback_indicator_counts_the_registry_and_its_time_to_removal(publishable_release, tmp_path):
    from bigcode_release.optout.registry import OptOutRegistry

    release = copy_release(publishable_release, tmp_path)
    with OptOutRegistry(ReleaseLayout.at(release).registry) as registry:
        applied = registry.submit("someone", client="tests")
        registry.approve(applied.id, by="maintainer")
        registry.mark_applied(applied.id, "v1.0")
        registry.submit("another", client="tests")
    row = {r.number: r for r in release_transparency(release).results}[83]
    assert row.status == "measured" and "registry: 2 requests (1 applied, 1 pending)" in row.value, row.value
    assert "median time from request to removal 0 minutes" in row.value
    assert row.evidence[-1] == "optout.sqlite: requests, events"
