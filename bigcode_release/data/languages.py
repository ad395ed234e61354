"""Programming-language detection by file extension and well-known file names.

The table lives in `bigcode_release/tables/languages.csv` (one row per language, with BigCode's
per-language quality thresholds); a recipe can add rows or replace shipped ones.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bigcode_release.tables import table_path


@dataclass(frozen=True)
class Language:
    """One row of the language table."""

    name: str
    extensions: tuple[str, ...]
    filenames: tuple[str, ...]
    max_line_length: int | None
    avg_line_length: float | None
    alnum_fraction: float | None
    alpha_fraction: float | None


def _number(text: str, kind: type) -> int | float | None:
    text = text.strip()
    return kind(text) if text else None


def _read_rows(path: Path) -> list[Language]:
    with path.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if line.strip() and not line.startswith("#")]
    rows = []
    for row in csv.DictReader(lines):
        rows.append(
            Language(
                name=row["language"].strip(),
                extensions=tuple(e.lower() for e in row["extensions"].split()),
                filenames=tuple(row["filenames"].split()),
                max_line_length=_number(row["max_line_length"], int),
                avg_line_length=_number(row["avg_line_length"], float),
                alnum_fraction=_number(row["alnum_fraction"], float),
                alpha_fraction=_number(row["alpha_fraction"], float),
            )
        )
    return rows


class LanguageTable:
    """Maps a file path to a language name, and a language name to its thresholds."""

    def __init__(self, languages: list[Language]):
        self.languages = {language.name: language for language in languages}
        self._by_filename: dict[str, str] = {}
        self._by_extension: dict[str, str] = {}
        for language in languages:
            for filename in language.filenames:
                self._by_filename[filename] = language.name
            for extension in language.extensions:
                self._by_extension[extension] = language.name

    @classmethod
    def load(cls, extra_table: Path | None = None) -> LanguageTable:
        """The shipped table, with `extra_table`'s rows added (a row with a known name replaces it)."""
        rows = {row.name: row for row in _read_rows(table_path("languages.csv"))}
        if extra_table is not None:
            rows.update({row.name: row for row in _read_rows(Path(extra_table))})
        return cls(list(rows.values()))

    def detect(self, path: str) -> str | None:
        """Language of a file from its name, or None when no row claims it."""
        name = PurePosixPath(path).name
        if name in self._by_filename:
            return self._by_filename[name]
        suffix = PurePosixPath(name).suffix.lower()
        if not suffix:
            return None
        return self._by_extension.get(suffix)

    def __contains__(self, name: str) -> bool:
        return name in self.languages
