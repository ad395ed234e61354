"""Why a file was dropped, in plain language: the reason codes of the drop ledgers and
`repos.parquet` explained from `tables/drop_reasons.csv` (shown by lookups and the Spaces)."""

from __future__ import annotations

import csv
from functools import lru_cache

from bigcode_release.tables import table_path

OPTED_OUT = "opted_out"  # the opt-out filter's code: the file's owner asked to be removed


@lru_cache(maxsize=1)
def _explanations() -> dict[str, str]:
    with open(table_path("drop_reasons.csv"), encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return {row["code"]: row["explanation"] for row in csv.DictReader(lines)}


def reason_codes() -> set[str]:
    """Every reason code the table explains."""
    return set(_explanations())


def explain(code: str) -> str:
    """The explanation of a reason code (a code the table does not know is shown as it is)."""
    return _explanations().get(code, code)


def describe_counts(counts: list[dict] | None) -> str:
    """`[{"reason": ..., "files": n}, ...]` as text: "3 files: an exact copy of ...; 1 file: ..."."""
    return "; ".join(
        f"{row['files']:,} file{'' if row['files'] == 1 else 's'}: {explain(row['reason'])}" for row in counts or []
    )
