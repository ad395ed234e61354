"""The transparency report: the shipped indicator table, indicators filled from the release's own
files (with file and field), statements a person confirms, and a removed measured input that turns
its indicators to missing and the push to a refusal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bigcode_release.layout import ReleaseLayout
from bigcode_release.release.plan import release_transparency
from bigcode_release.release.transparency.checks import CHECKS
from bigcode_release.release.transparency.evidence import one_significant
from bigcode_release.release.transparency.report import load_indicators
from tests.conftest import CLI, REPO_ROOT, run_cli
from tests.hub_server import FakeHub, RunningHub

pytestmark = pytest.mark.slow
STATS_INDICATORS = {1, 5, 7, 8, 9, 10, 31, 32, 87, 90}


def copy_release(release: Path, folder: Path) -> Path:
    target = folder / "release"
    shutil.copytree(release, target, symlinks=True)
    return target


def test_the_indicator_table_lists_the_indexs_100_indicators_with_its_source():
    source, indicators = load_indicators()
    assert [i.number for i in indicators] == list(range(1, 101))
    assert "arXiv:2310.12941" in source and "stanford-crfm/fmti" in source
    assert {i.domain for i in indicators} == {"Upstream", "Model", "Downstream"}
    assert {i.check for i in indicators} - {"human"} == set(CHECKS)
    assert sum(i.check != "human" for i in indicators) >= 40


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


def test_the_release_fills_at_least_40_indicators_from_measurement(publishable_release, tmp_path):
    release = copy_release(publishable_release, tmp_path)
    result = run_cli("release", "transparency", str(release), "--json")
    report = json.loads(result.stdout)
    measured = {r["number"]: r for r in report["indicators"] if r["status"] == "measured"}
    assert len(measured) >= 40 and report["score"] == len(measured)
    assert measured[1]["evidence"][0].endswith("stats.json: totals.kept_files")
    assert "FLOPs (6 N D), the final training run only" in measured[20]["value"]
    assert "kWh, the final run only (estimate:" in measured[24]["value"]
    assert measured[36]["evidence"] == ["train/tiny-test/manifest.json: run.parameters"]
    if (release / "train" / "tiny-test" / "eval").is_dir():
        assert {43, 44, 45, 64} <= set(measured)
    statuses = {r["number"]: r["status"] for r in report["indicators"]}
    assert statuses[11] == "template" and statuses[18] == "not produced"
    text = (release / "transparency" / "report.md").read_text()
    assert f"Score: **{report['score']} / 100**" in text and "| 36 | Model size | measured |" in text


def test_a_confirmed_statement_counts_and_a_draft_does_not(publishable_release, tmp_path):
    release = copy_release(publishable_release, tmp_path)
    before = release_transparency(release)
    statements = yaml.safe_load(ReleaseLayout.at(release).statements.read_text())
    statements["statements"][11] = {
        "statement": "No data labor: selection and filtering are automatic.",
        "confirmed": True,
    }
    statements["statements"][12]["statement"] = ""
    statements["statements"][12]["confirmed"] = True  # confirmed but empty: still a template
    ReleaseLayout.at(release).statements.write_text(yaml.safe_dump(statements))
    after = release_transparency(release)
    status = {r.number: r.status for r in after.results}
    assert status[11] == "confirmed" and status[12] == "template" and after.score == before.score + 1


def test_the_model_card_carries_the_measured_indicators(publishable_release, tmp_path):
    from huggingface_hub import ModelCard

    from bigcode_release.release.plan import make_plan
    from bigcode_release.release.settings import load_release_settings

    release = copy_release(publishable_release, tmp_path)
    model = next(p for p in make_plan(release, "bigcode", load_release_settings()) if p.kind == "model")
    card = ModelCard.load(model.card().local)
    assert "## Transparency" in card.text and "| 36 | Model size |" in card.text
    assert "| energy | " in card.text and "kWh, the final run only" in card.text


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
    assert result.returncode == 2 and "measured inputs missing" in result.stderr and "#1 Data size" in result.stderr
    assert hub.repos == {}


def test_a_release_without_a_model_is_not_blocked_and_says_not_produced(tokenized_release, tmp_path):
    release = copy_release(tokenized_release, tmp_path)
    report = release_transparency(release)
    status = {r.number: r.status for r in report.results}
    assert status[36] == "not produced" and status[20] == "not produced" and not report.blocking()
    assert status[1] == "measured"
