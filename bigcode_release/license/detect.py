"""Repository-level license detection, with the evidence behind each decision.

Two kinds of repository are understood:

- an installed Python distribution: `License-Expression` (PEP 639), then the `License` field,
  then `License ::` classifiers (several mean a choice, so they are OR-ed), then license files;
- a folder (a repository checkout): license files at its root (LICENSE, COPYING, ...), then
  package manifests (package.json, pyproject.toml, setup.cfg, Cargo.toml, composer.json).

Every source is read and what they say is combined (`decide`): a placeholder ("Dual License",
"UNKNOWN" read as `LicenseRef-Unknown`) never hides a later source's real answer, sources that agree
give that answer, and sources that say different things are all kept, joined with AND (the reading
that keeps every license's terms), the decision naming each source. Everything found is kept as
evidence so `bigcode-release license detect` can show why.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib.metadata import Distribution
from pathlib import Path

import yaml

from bigcode_release.license.spdx import LicenseCategory, categorise, combine, normalise, permissive_allowlist
from bigcode_release.tables import table_path

LICENSE_FILE_RE = re.compile(r"^(un)?licen[cs]e|^copying|^copyright|^notice", re.IGNORECASE)
_TEXT_WINDOW = 4000


@dataclass(frozen=True)
class LicenseEvidence:
    """One thing found that says something about a repository's license."""

    source: str  # e.g. "metadata:License-Expression", "classifier", "file:LICENSE"
    statement: str  # what was found (truncated)
    spdx: str | None  # what it means in SPDX, None when not understood


@dataclass(frozen=True)
class LicenseDecision:
    """The license a repository is taken to have."""

    expression: str | None
    licenses: tuple[str, ...]
    source: str  # which evidence decided, "none" when nothing did
    category: LicenseCategory
    evidence: tuple[LicenseEvidence, ...] = field(default=())

    def to_dict(self) -> dict:
        data = asdict(self)
        data["licenses"] = list(self.licenses)
        data["evidence"] = [asdict(e) for e in self.evidence]
        return data


@lru_cache(maxsize=1)
def _text_rules() -> list[dict]:
    return yaml.safe_load(table_path("license_texts.yaml").read_text(encoding="utf-8"))


def identify_license_text(text: str) -> str | None:
    """The SPDX expression of a license text (LICENSE file content) from the phrase rules: the first
    matching rule of each family, several families joined with AND; None when nothing matches."""
    folded = re.sub(r"\s+", " ", text[: _TEXT_WINDOW * 2]).casefold()[:_TEXT_WINDOW]
    folded = folded.replace("\u2019", "'").replace("``", '"').replace("''", '"')
    found: dict[str, str] = {}
    for rule in _text_rules():
        if rule["family"] in found:
            continue
        if all(phrase in folded for phrase in rule["all"]) and not any(
            phrase in folded for phrase in rule.get("unless", [])
        ):
            found[rule["family"]] = rule["spdx"]
    return combine(list(found.values()), "AND")


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _statement_evidence(source: str, statement: str) -> LicenseEvidence:
    """Evidence from a short statement (a name or an expression), or a full license text."""
    normalised = normalise(statement)
    spdx = normalised.expression
    if spdx is None and len(statement) > 200:
        spdx = identify_license_text(statement)
    return LicenseEvidence(source, _short(statement), spdx)


def decide(evidence: list[LicenseEvidence], allowlist: frozenset[str] | None = None) -> LicenseDecision:
    """Turn evidence into a decision from all of it.

    Each metadata field and manifest is its own group. Several classifiers, or several license
    files side by side (LICENSE-MIT next to LICENSE-APACHE), are combined with OR: that is how
    dual licensing is written down. A group whose only answer is a placeholder (`LicenseRef-...`)
    gives way to the groups with a real one. The groups' answers are then combined: the same
    licenses once; an answer that another one implies (a choice between licenses another source
    requires) left out; what differs joined with AND, the source naming every group it came from.
    """
    allowlist = allowlist if allowlist is not None else permissive_allowlist()
    groups: dict[str, list[LicenseEvidence]] = {}
    for item in evidence:
        kind = item.source.split(":", 1)[0]
        groups.setdefault(kind if kind in ("classifier", "file") else item.source, []).append(item)
    answered = []  # (group's source, its expression)
    for kind, items in groups.items():
        answers = [item.spdx for item in items if item.spdx]
        if answers:
            answered.append((items[0].source if len(answers) == 1 else kind, combine(answers, "OR")))
    real = [(source, expression) for source, expression in answered if not _placeholder(expression)]
    kept = _combined(real or answered[:1])
    if kept:
        expression = combine([e for _, e in kept], "AND")
        source = "+".join(dict.fromkeys(s for s, _ in kept))
        licenses = normalise(expression).licenses if expression else ()
        return LicenseDecision(expression, licenses, source, categorise(expression, allowlist), tuple(evidence))
    category: LicenseCategory = "unknown" if evidence else "no_license"
    expression = "LicenseRef-Unknown" if evidence else None
    licenses = (expression,) if expression else ()
    return LicenseDecision(expression, licenses, "none", category, tuple(evidence))


def _placeholder(expression: str) -> bool:
    """An answer that names no license (`LicenseRef-Unknown`, nothing else)."""
    return all(name.startswith("LicenseRef-") for name in normalise(expression).licenses)


@lru_cache(maxsize=1)
def _families() -> dict[str, str]:
    return {rule["spdx"]: rule["family"] for rule in _text_rules()}


def _family(spdx: str) -> str:
    """The family of a license id (BSD-2-Clause and BSD-3-Clause are both "bsd"), from the text rules."""
    return _families().get(spdx.replace("-or-later", "-only"), spdx)


def _precision(source: str) -> int:
    """How precisely a kind of source names a license: a stated expression (metadata, manifest) before
    a text recognised by phrases (a file), before a classifier (`BSD License` names no variant)."""
    return 2 if source.startswith("classifier") else 1 if source.startswith("file") else 0


def _combined(answers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The answers that add something: each once, and none that another implies. An answer that
    requires its licenses (one license, or several joined with AND) implies one requiring fewer of
    them, and a choice (`Apache-2.0 OR BSD-3-Clause`) one of whose licenses it requires; an answer
    whose every license has a relative (same family) in a more precise source's answer is that one
    said less precisely (a `BSD License` classifier next to a BSD-2-Clause text)."""
    sets = [(source, expression, frozenset(normalise(expression).licenses)) for source, expression in answers]
    sets = [  # first, leave out what a more precise source says more precisely
        (source, expression, names)
        for source, expression, names in sets
        if not any(
            _precision(other_source) < _precision(source) and {_family(n) for n in names} <= {_family(n) for n in other}
            for other_source, _, other in sets
        )
    ]
    kept: list[tuple[str, str]] = []
    for index, (source, expression, names) in enumerate(sets):
        redundant = any(expression == kept_expression for _, kept_expression in kept)
        for other_index, (_, other_expression, other) in enumerate(sets):
            if redundant or other_index == index or not _requires(other_expression):
                continue
            if _requires(expression):
                redundant = names < other or (names == other and other_index < index)
            else:
                redundant = bool(names & other)
        if not redundant:
            kept.append((source, expression))
    return kept


def _requires(expression: str) -> bool:
    """One license, or several all required (no choice between them)."""
    return " OR " not in expression


def merge_decisions(decisions: list[LicenseDecision], allowlist: frozenset[str] | None = None) -> LicenseDecision:
    """One decision for a repository several packages were published from: every license holds (AND)."""
    if len(decisions) == 1:
        return decisions[0]
    allowlist = allowlist if allowlist is not None else permissive_allowlist()
    evidence = tuple(e for d in decisions for e in d.evidence)
    expression = combine([d.expression for d in decisions if d.expression], "AND")
    if expression is None:
        return decide(list(evidence), allowlist)
    source = "+".join(sorted({d.source for d in decisions}))
    return LicenseDecision(
        expression, normalise(expression).licenses, source, categorise(expression, allowlist), evidence
    )


def distribution_evidence(dist: Distribution) -> list[LicenseEvidence]:
    """Everything an installed distribution says about its license, most authoritative first."""
    metadata = dist.metadata
    evidence: list[LicenseEvidence] = []
    expression = metadata.get("License-Expression")
    if expression:
        evidence.append(_statement_evidence("metadata:License-Expression", expression))
    license_field = metadata.get("License")
    if license_field and license_field.strip() and license_field.strip().upper() not in ("UNKNOWN", "NONE"):
        evidence.append(_statement_evidence("metadata:License", license_field))
    for classifier in metadata.get_all("Classifier") or []:
        if classifier.startswith("License ::"):
            evidence.append(_statement_evidence("classifier", classifier))
    for name in _distribution_license_files(dist):
        text = dist.read_text(name) if not name.startswith("..") else None
        if text is None:
            try:
                text = Path(dist.locate_file(name)).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
        evidence.append(LicenseEvidence(f"file:{name}", _short(text), identify_license_text(text)))
    return evidence


def _distribution_license_files(dist: Distribution) -> list[str]:
    """License files of a distribution, relative to its metadata folder or its install root."""
    metadata_dir = Path(str(getattr(dist, "_path", "")))
    names: list[str] = []
    for declared in dist.metadata.get_all("License-File") or []:
        for candidate in (f"licenses/{declared}", declared):
            if (metadata_dir / candidate).is_file():
                names.append(candidate)
                break
    if not names and metadata_dir.is_dir():
        for path in sorted(metadata_dir.rglob("*")):
            if path.is_file() and LICENSE_FILE_RE.match(path.name):
                names.append(path.relative_to(metadata_dir).as_posix())
    return names


def detect_distribution(dist: Distribution, allowlist: frozenset[str] | None = None) -> LicenseDecision:
    """License decision for an installed distribution."""
    return decide(distribution_evidence(dist), allowlist)


def folder_evidence(root: Path) -> list[LicenseEvidence]:
    """Everything a repository checkout says about its license, license files first."""
    root = Path(root)
    evidence: list[LicenseEvidence] = []
    for path in sorted(p for p in root.iterdir() if p.is_file() and LICENSE_FILE_RE.match(p.name)):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        evidence.append(LicenseEvidence(f"file:{path.name}", _short(text), identify_license_text(text)))
    for source, statement in _manifest_statements(root):
        evidence.append(_statement_evidence(source, statement))
    return evidence


def _json_license(text: str):
    value = json.loads(text).get("license")
    return " OR ".join(v for v in value if isinstance(v, str)) if isinstance(value, list) else value


def _pyproject_license(text: str):
    value = tomllib.loads(text).get("project", {}).get("license")
    return value.get("text") if isinstance(value, dict) else value


def _setup_cfg_license(text: str):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser.get("metadata", "license", fallback=None)


def _cargo_license(text: str):
    value = tomllib.loads(text).get("package", {}).get("license")
    return value.replace("/", " OR ") if isinstance(value, str) else value  # old Cargo syntax: MIT/Apache-2.0


# package manifests that declare a license, in the order they are trusted
MANIFEST_READERS = {
    "package.json": _json_license,
    "pyproject.toml": _pyproject_license,
    "setup.cfg": _setup_cfg_license,
    "Cargo.toml": _cargo_license,
    "composer.json": _json_license,
}


def _manifest_statements(root: Path) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name, reader in MANIFEST_READERS.items():
        path = root / name
        if not path.is_file():
            continue
        try:
            value = reader(path.read_text(encoding="utf-8"))
        except (ValueError, AttributeError, UnicodeDecodeError, configparser.Error):
            continue  # a malformed manifest says nothing about the license
        if isinstance(value, str) and value.strip():
            found.append((f"manifest:{name}", value))
    return found


def detect_folder(root: Path, allowlist: frozenset[str] | None = None) -> LicenseDecision:
    """License decision for a repository checkout."""
    return decide(folder_evidence(root), allowlist)
