"""The transparency report: every FMTI indicator is filled from measurement (which file and field),
by a statement a person confirmed, left as a template a person must complete, not produced (its
stage has not run), or missing (its stage ran but the measured input is gone, which blocks a push)."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from bigcode_release.errors import MissingEvidence
from bigcode_release.layout import ReleaseLayout
from bigcode_release.release.transparency.checks import CHECKS
from bigcode_release.release.transparency.evidence import Evidence
from bigcode_release.shipped import card_template
from bigcode_release.tables import table_path

TABLE = table_path("fmti_indicators.yaml")
STATEMENTS_TEMPLATE = card_template("transparency_statements.yaml")

MEASURED, CONFIRMED, TEMPLATE, NOT_PRODUCED, MISSING = "measured", "confirmed", "template", "not produced", "missing"


@dataclass(frozen=True)
class Indicator:
    number: int
    domain: str
    subdomain: str
    name: str
    about: str
    check: str


@dataclass
class IndicatorResult:
    number: int
    domain: str
    subdomain: str
    name: str
    status: str
    value: str
    evidence: list[str]

    @property
    def satisfied(self) -> bool:
        return self.status in (MEASURED, CONFIRMED)


@dataclass
class TransparencyReport:
    release: str
    source: str
    results: list[IndicatorResult]
    inputs: dict = field(default_factory=dict)  # the manifest hash of each stage output read

    @property
    def score(self) -> int:
        return sum(r.satisfied for r in self.results)

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.status for r in self.results))

    def blocking(self) -> list[IndicatorResult]:
        """Measurable indicators whose stage ran but whose input is gone: a push must not go out."""
        return [r for r in self.results if r.status == MISSING]

    def to_dict(self) -> dict:
        return {
            "release": self.release,
            "score": self.score,
            "out_of": len(self.results),
            "counts": self.counts(),
            "source": self.source,
            "inputs": self.inputs,
            "indicators": [asdict(r) for r in self.results],
        }


def load_indicators(path: Path = TABLE) -> tuple[str, list[Indicator]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    indicators = [Indicator(*row) for row in data["indicators"]]
    unknown = [i.check for i in indicators if i.check != "human" and i.check not in CHECKS]
    if unknown or len(indicators) != 100:
        raise ValueError(f"{path}: {len(indicators)} indicators, unknown checks {unknown}")
    return data["source"], indicators


def _statements(layout: ReleaseLayout) -> dict:
    path = layout.statements
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(STATEMENTS_TEMPLATE, path)
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("statements", {})


def transparency_report(
    release: str | Path, settings=None, plans: list | None = None, plan_problem: str = ""
) -> TransparencyReport:
    """Evaluate every indicator on `release` (copies the statements template there on first use).
    `plans` are the Hub repositories the release becomes (`release.plan.release_transparency` makes
    them); without them the indicators read from the plan are "missing", with `plan_problem` as why."""
    layout = ReleaseLayout.at(release)
    source, indicators = load_indicators()
    evidence = Evidence(release, settings, plans, plan_problem)
    statements = _statements(layout)
    statements_name = layout.statements.relative_to(layout.root).as_posix()
    results = []
    for indicator in indicators:
        head = (indicator.number, indicator.domain, indicator.subdomain, indicator.name)
        if indicator.check == "human":
            entry = statements.get(indicator.number) or {}
            confirmed = bool(entry.get("confirmed")) and bool(str(entry.get("statement", "")).strip())
            results.append(
                IndicatorResult(
                    *head,
                    CONFIRMED if confirmed else TEMPLATE,
                    str(entry.get("statement", "")),
                    [f"{statements_name}: statements.{indicator.number}"],
                )
            )
            continue
        try:
            value, sources = CHECKS[indicator.check](evidence)
            results.append(IndicatorResult(*head, MEASURED, value, sources))
        except MissingEvidence as exc:
            results.append(IndicatorResult(*head, MISSING if exc.produced else NOT_PRODUCED, str(exc), []))
    return TransparencyReport(str(layout.root), source, results, evidence.inputs())


def write_markdown(report: TransparencyReport, release: str | Path) -> Path:
    """`<release>/transparency/report.md`: the score, then every indicator with its evidence."""
    layout = ReleaseLayout.at(release)
    counts = report.counts()
    lines = [
        "# Transparency report",
        "",
        f"Score: **{report.score} / 100** indicators satisfied ({counts.get(MEASURED, 0)} filled from measurement, "
        f"{counts.get(CONFIRMED, 0)} by confirmed statements); {counts.get(TEMPLATE, 0)} left to a human "
        f"(`{layout.statements.relative_to(layout.root).as_posix()}`), {counts.get(NOT_PRODUCED, 0)} not produced, {counts.get(MISSING, 0)} missing.",
        "",
        f"Indicators: {report.source}. Sizes, compute and energy are given to one significant figure and cover "
        "the final run only.",
        "",
        "Read from: "
        + ", ".join(
            f"{kind} manifest `{h[:12]}`" if h else f"{kind}: not produced" for kind, h in report.inputs.items()
        )
        + ".",
        "",
    ]
    domain = subdomain = None
    for result in report.results:
        if result.domain != domain:
            domain = result.domain
            lines += [f"## {domain}", ""]
        if result.subdomain != subdomain:
            subdomain = result.subdomain
            lines += [
                f"### {subdomain}",
                "",
                "| # | indicator | status | what the release says | evidence |",
                "|---:|---|---|---|---|",
            ]
        value = result.value.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {result.number} | {result.name} | {result.status} | {value} | {'; '.join(result.evidence)} |")
        if result is report.results[-1] or report.results[report.results.index(result) + 1].subdomain != subdomain:
            lines.append("")
    path = layout.transparency_report
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
