"""The transparency report against an edition of the Foundation Model Transparency Index (December
2025 by default, May 2024 kept): every indicator measured, derived, estimated (each from the file and
field cited), a person's confirmed statement, a draft statement naming who must confirm it, not
produced (its stage has not run) or missing (its stage ran but what it wrote is gone, which blocks a
push). The score counts measured, derived and confirmed statements (`statuses.py`); the report sets it
next to the best published developer's, per subdomain, from the edition's shipped scores."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import yaml

from bigcode_release.errors import MissingEvidence, ReleaseError
from bigcode_release.layout import ReleaseLayout
from bigcode_release.release.transparency import checks_2025  # noqa: F401  (registers the 2025 checks)
from bigcode_release.release.transparency.checks import CHECKS
from bigcode_release.release.transparency.evidence import Evidence
from bigcode_release.release.transparency.statuses import (
    COUNTED,
    DRAFT,
    ESTIMATED,
    MISSING,
    NOT_PRODUCED,
    STATEMENT,
)
from bigcode_release.shipped import card_template
from bigcode_release.tables import table_path

EDITIONS = ("2025-12", "2024-05")
DEFAULT_EDITION = "2025-12"


@dataclass(frozen=True)
class Indicator:
    number: int
    domain: str
    subdomain: str
    name: str
    about: str
    check: str


@dataclass(frozen=True)
class Edition:
    """One edition of the index as shipped: its indicators and the published developers' scores."""

    edition: str
    title: str
    source: str
    definitions: str
    indicators: tuple[Indicator, ...]
    scores: dict[str, frozenset[str]]  # developer -> names of the indicators it was credited with

    @property
    def best(self) -> tuple[str, int]:
        """The developer with the highest published score, and that score."""
        developer = max(self.scores, key=lambda d: (len(self.scores[d]), d))
        return developer, len(self.scores[developer])

    def subdomain_counts(self, developer: str) -> dict[tuple[str, str], int]:
        credited = self.scores[developer]
        return dict(Counter((i.domain, i.subdomain) for i in self.indicators if i.name in credited))


@cache
def load_edition(edition: str = DEFAULT_EDITION) -> Edition:
    """A shipped edition (`tables/fmti_<edition>.yaml` and `tables/fmti_scores_<edition>.csv`).

    Raises:
        ReleaseError: no such edition.
    """
    if edition not in EDITIONS:
        raise ReleaseError(f"no transparency index edition {edition!r}; shipped: {', '.join(EDITIONS)}")
    data = yaml.safe_load(table_path(f"fmti_{edition}.yaml").read_text(encoding="utf-8"))
    indicators = tuple(Indicator(*row) for row in data["indicators"])
    unknown = [i.check for i in indicators if i.check != "human" and i.check not in CHECKS]
    if unknown or len(indicators) != 100:
        raise ValueError(f"fmti_{edition}.yaml: {len(indicators)} indicators, unknown checks {unknown}")
    with open(table_path(data["scores"]), encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(line for line in handle if not line.startswith("#"))]
    names = {i.name for i in indicators}
    scored = {row["Indicator"].strip() for row in rows}
    if names - scored:
        raise ValueError(f"{data['scores']} has no scores for {sorted(names - scored)}")
    rows = [row for row in rows if row["Indicator"].strip() in names]  # (the file's "Total" row is not one)
    developers = [key for key in rows[0] if key != "Indicator"]
    scores = {d: frozenset(r["Indicator"].strip() for r in rows if r[d].strip() == "1") for d in developers}
    return Edition(edition, data["title"], data["source"], data["definitions"], indicators, scores)


@dataclass
class IndicatorResult:
    number: int
    domain: str
    subdomain: str
    name: str
    status: str
    value: str
    evidence: list[str]
    confirm_by: str = ""  # a draft statement: who must confirm it

    @property
    def satisfied(self) -> bool:
        return self.status in COUNTED


@dataclass
class TransparencyReport:
    release: str
    edition: str
    source: str
    results: list[IndicatorResult]
    inputs: dict = field(default_factory=dict)  # the manifest hash of each stage output read

    @property
    def score(self) -> int:
        return sum(r.satisfied for r in self.results)

    def counts(self) -> dict[str, int]:
        return dict(Counter(r.status for r in self.results))

    def blocking(self) -> list[IndicatorResult]:
        """Indicators whose stage ran but whose input is gone: a push must not go out."""
        return [r for r in self.results if r.status == MISSING]

    def comparison(self) -> list[dict]:
        """Per subdomain: our count, the edition's best developer's, and the best any developer got."""
        edition = load_edition(self.edition)
        top, _ = edition.best
        top_counts = edition.subdomain_counts(top)
        all_counts = {d: edition.subdomain_counts(d) for d in edition.scores}
        rows = []
        for key in dict.fromkeys((r.domain, r.subdomain) for r in self.results):
            ours = [r for r in self.results if (r.domain, r.subdomain) == key]
            leader = max(all_counts, key=lambda d: (all_counts[d].get(key, 0), d == top))
            rows.append(
                {
                    "domain": key[0],
                    "subdomain": key[1],
                    "indicators": len(ours),
                    "ours": sum(r.satisfied for r in ours),
                    "estimated": sum(r.status == ESTIMATED for r in ours),
                    top: top_counts.get(key, 0),
                    "best": all_counts[leader].get(key, 0),
                    "best_by": leader,
                }
            )
        return rows

    def to_dict(self) -> dict:
        edition = load_edition(self.edition)
        developer, best = edition.best
        return {
            "release": self.release,
            "edition": self.edition,
            "score": self.score,
            "out_of": len(self.results),
            "counts": self.counts(),
            "best_published": {"developer": developer, "score": best},
            "source": self.source,
            "inputs": self.inputs,
            "comparison": self.comparison(),
            "indicators": [asdict(r) for r in self.results],
        }


def statements_path(layout: ReleaseLayout, edition: str) -> Path:
    """The statements a person confirms for one edition (the May 2024 file keeps its first name)."""
    name = "statements.yaml" if edition == "2024-05" else f"statements-{edition}.yaml"
    return layout.transparency_dir / name


def _statements(layout: ReleaseLayout, edition: str) -> dict:
    path = statements_path(layout, edition)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(card_template(f"transparency_statements_{edition}.yaml"), path)
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("statements", {})


def transparency_report(
    release: str | Path,
    settings=None,
    plans: list | None = None,
    plan_problem: str = "",
    edition: str = DEFAULT_EDITION,
) -> TransparencyReport:
    """Evaluate every indicator of `edition` on `release` (copies the edition's statements template
    there on first use). `plans` are the Hub repositories the release becomes
    (`release.plan.release_transparency` makes them); without them the indicators read from the
    plan are "missing", with `plan_problem` as why."""
    layout = ReleaseLayout.at(release)
    shipped = load_edition(edition)
    evidence = Evidence(release, settings, plans, plan_problem)
    statements = _statements(layout, edition)
    statements_name = statements_path(layout, edition).relative_to(layout.root).as_posix()
    results = []
    for indicator in shipped.indicators:
        head = (indicator.number, indicator.domain, indicator.subdomain, indicator.name)
        if indicator.check == "human":
            entry = statements.get(indicator.number) or {}
            confirmed = bool(entry.get("confirmed")) and bool(str(entry.get("statement", "")).strip())
            results.append(
                IndicatorResult(
                    *head,
                    STATEMENT if confirmed else DRAFT,
                    str(entry.get("statement", "")),
                    [f"{statements_name}: statements.{indicator.number}"],
                    "" if confirmed else str(entry.get("confirm_by") or "the release's maintainers"),
                )
            )
            continue
        try:
            value, sources, status = CHECKS[indicator.check](evidence)
            results.append(IndicatorResult(*head, status, value, sources))
        except MissingEvidence as exc:
            results.append(IndicatorResult(*head, MISSING if exc.produced else NOT_PRODUCED, str(exc), []))
    return TransparencyReport(str(layout.root), edition, shipped.source, results, evidence.inputs())


def write_markdown(report: TransparencyReport, release: str | Path) -> Path:
    """`<release>/transparency/report-<edition>.md` (and `report.md` for the default edition): the
    score next to the best published one, per subdomain, then every indicator with its evidence."""
    layout = ReleaseLayout.at(release)
    edition = load_edition(report.edition)
    developer, best = edition.best
    counts = report.counts()
    statements = statements_path(layout, report.edition).relative_to(layout.root).as_posix()
    lines = [
        f"# Transparency report: {edition.title}",
        "",
        f"Score: **{report.score} / 100** (measured {counts.get('measured', 0)}, derived {counts.get('derived', 0)}, "
        f"confirmed statements {counts.get(STATEMENT, 0)}); shown apart: estimated {counts.get(ESTIMATED, 0)}, "
        f"draft statements {counts.get(DRAFT, 0)} (`{statements}`), not produced {counts.get(NOT_PRODUCED, 0)}, "
        f"missing {counts.get(MISSING, 0)}. Best published score in this edition: {developer} {best} / 100.",
        "",
        f"Indicators: {report.source}. Their definitions: {edition.definitions}. Sizes, compute and energy are given "
        "to one significant figure.",
        "",
        "Read from: "
        + ", ".join(
            f"{kind} manifest `{h[:12]}`" if h else f"{kind}: not produced" for kind, h in report.inputs.items()
        )
        + ".",
        "",
        "## Per subdomain",
        "",
        f"| domain | subdomain | indicators | this release | {developer} | best (developer) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in report.comparison():
        lines.append(
            f"| {row['domain']} | {row['subdomain']} | {row['indicators']} | {row['ours']} | {row[developer]} | "
            f"{row['best']} ({row['best_by']}) |"
        )
    lines.append("")
    domain = subdomain = None
    for index, result in enumerate(report.results):
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
        if result.confirm_by:
            value += f" (to be confirmed by {result.confirm_by})"
        lines.append(f"| {result.number} | {result.name} | {result.status} | {value} | {'; '.join(result.evidence)} |")
        following = report.results[index + 1] if index + 1 < len(report.results) else None
        if following is None or following.subdomain != subdomain:
            lines.append("")
    path = layout.transparency_dir / f"report-{report.edition}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    if report.edition == DEFAULT_EDITION:
        shutil.copyfile(path, layout.transparency_report)
    return path
