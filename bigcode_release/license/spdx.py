"""Normalising license statements to SPDX, and deciding whether an expression is permissive.

Parsing and normalisation of SPDX expressions is `license-expression`'s job (case, `+` suffixes,
deprecated ids, AND/OR/WITH). Free-text names and trove classifiers ("BSD License",
"License :: OSI Approved :: MIT License") go through the alias table shipped in
`tables/license_aliases.csv` first; the result is parsed and validated the same way.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from license_expression import ExpressionError, LicenseSymbol, LicenseWithExceptionSymbol, get_spdx_licensing

from bigcode_release.tables import table_path

LicenseCategory = Literal["permissive", "non_permissive", "no_license", "unknown"]

_UNKNOWN_PREFIX = "LicenseRef-"


@lru_cache(maxsize=1)
def _licensing():
    return get_spdx_licensing()


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    path = table_path("license_aliases.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if line.strip() and not line.startswith("#")]
    return {_fold(row["alias"]): row["spdx"].strip() for row in csv.DictReader(lines)}


@lru_cache(maxsize=1)
def permissive_allowlist() -> frozenset[str]:
    """The shipped permissive SPDX ids (`tables/permissive_licenses.txt`)."""
    text = table_path("permissive_licenses.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@dataclass(frozen=True)
class NormalisedLicense:
    """A license statement turned into an SPDX expression.

    `expression` is None when the statement could not be understood; `licenses` lists the
    SPDX ids it names (with `LicenseRef-...` for things SPDX has no id for).
    """

    statement: str
    expression: str | None
    licenses: tuple[str, ...]
    via: Literal["spdx", "alias", "none"]


def normalise(statement: str) -> NormalisedLicense:
    """Turn one license statement (SPDX expression, common name or classifier) into SPDX.

    Example:
        >>> normalise("Apache 2.0").expression
        'Apache-2.0'
        >>> normalise("mit OR apache-2.0").expression
        'MIT OR Apache-2.0'
    """
    folded = _fold(statement)
    alias = _aliases().get(folded)
    if alias is not None:
        parsed = _parse_valid(alias)
        if parsed is not None:
            return NormalisedLicense(statement, parsed[0], parsed[1], "alias")
    if folded and len(folded) <= 200:
        parsed = _parse_valid(statement.strip())
        if parsed is not None:
            return NormalisedLicense(statement, parsed[0], parsed[1], "spdx")
    return NormalisedLicense(statement, None, (), "none")


def _parse_valid(text: str) -> tuple[str, tuple[str, ...]] | None:
    licensing = _licensing()
    try:
        parsed = licensing.parse(text, validate=False)
    except ExpressionError:
        return None
    except Exception:  # license-expression raises bare errors on some malformed input
        return None
    if parsed is None:
        return None
    keys = tuple(licensing.license_keys(parsed))
    unknown = [key for key in keys if not key.startswith(_UNKNOWN_PREFIX) and key in _invalid_keys(text)]
    if unknown:
        return None
    return parsed.render(), keys


def _invalid_keys(text: str) -> set[str]:
    info = _licensing().validate(text)
    return set(info.invalid_symbols or ())


def combine(expressions: list[str], operator: Literal["AND", "OR"]) -> str | None:
    """Join SPDX expressions with AND/OR, simplified (duplicates removed)."""
    unique = list(dict.fromkeys(e for e in expressions if e))
    if not unique:
        return None
    if len(unique) == 1:
        return unique[0]
    joined = f" {operator} ".join(f"({e})" for e in unique)
    return _licensing().parse(joined, simple=False).simplify().render()


def categorise(expression: str | None, allowlist: frozenset[str]) -> LicenseCategory:
    """Classify an SPDX expression against a permissive allow-list.

    - None or empty: `no_license`
    - any id that is a `LicenseRef-Unknown`/`LicenseRef-Proprietary`-style reference and cannot be
      avoided through an OR: `unknown`
    - satisfiable with allow-listed ids alone (an OR needs one permissive branch, an AND needs all):
      `permissive`, otherwise `non_permissive`.
    """
    if not expression:
        return "no_license"
    try:
        parsed = _licensing().parse(expression)
    except Exception:
        return "unknown"
    return _satisfiable(parsed, allowlist)


def _satisfiable(node, allowlist: frozenset[str]) -> LicenseCategory:
    if isinstance(node, LicenseWithExceptionSymbol):
        node = node.license_symbol
    if isinstance(node, LicenseSymbol):
        if node.key in allowlist:
            return "permissive"
        if node.key.startswith(_UNKNOWN_PREFIX) and node.key != "LicenseRef-Proprietary":
            return "unknown"
        return "non_permissive"
    verdicts = [_satisfiable(arg, allowlist) for arg in node.args]
    # an OR is as good as its best branch, an AND as bad as its worst part
    order = ("permissive", "unknown", "non_permissive")
    ranked = sorted(verdicts, key=order.index)
    return ranked[0] if type(node).__name__ == "OR" else ranked[-1]


def license_terms(expression: str) -> set[str]:
    """The licenses an SPDX expression names, by plain reading (`MIT AND PSF-2.0` -> {MIT, PSF-2.0});
    an exception (`Apache-2.0 WITH LLVM-exception`) is part of its license, not a license of its own."""
    words = expression.replace("(", " ").replace(")", " ").split()
    exceptions = {words[i + 1] for i, word in enumerate(words[:-1]) if word == "WITH"}
    return {word for word in words if word not in ("AND", "OR", "WITH") and word not in exceptions}
