"""Parquet or JSONL data in The Stack's schema, read (streaming) through datatrove's readers.

Understands The Stack v1 columns (`max_stars_repo_name`, `max_stars_repo_path`,
`max_stars_repo_licenses`, `max_stars_count`...), v2-style columns (`repo_name`, `path`,
`detected_licenses`, `star_events_count`...), and this toolkit's own output. Several licenses
listed for one repository are read as a choice (OR), as for license files side by side. A file
that cannot be parsed is skipped and counted (`corrupt_input_files`), never fatal.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from datatrove.pipeline.readers import JsonlReader, ParquetReader
from loguru import logger

from bigcode_release.data.document import make_document
from bigcode_release.data.languages import LanguageTable
from bigcode_release.license.spdx import combine, normalise

_COLUMNS = {
    "content": ("content", "text"),
    "path": ("path", "max_stars_repo_path", "max_issues_repo_path", "max_forks_repo_path"),
    "repo_name": ("repo_name", "max_stars_repo_name", "max_issues_repo_name", "max_forks_repo_name"),
    "licenses": ("licenses", "detected_licenses", "max_stars_repo_licenses", "license"),
    "stars": ("stars", "max_stars_count", "star_events_count"),
    "forks": ("forks", "max_forks_count", "fork_events_count"),
    "language": ("language", "lang"),
}


def _first(row: dict, key: str):
    for column in _COLUMNS[key]:
        if row.get(column) is not None:
            return row[column]
    return None


class _StackRows:
    """Mixin turning Stack-schema rows into documents and surviving corrupt files."""

    languages: LanguageTable

    def read_file(self, filepath: str):
        try:
            yield from super().read_file(filepath)
        except Exception as exc:  # any parse error of one input file: skip it, count it
            self.stat_update("corrupt_input_files")
            logger.warning(f"skipping corrupt input file {filepath}: {type(exc).__name__}: {exc}")

    def get_document_from_dict(self, data: dict, source_file: str, id_in_file: int):
        content = _first(data, "content")
        repo_name = _first(data, "repo_name")
        path = _first(data, "path")
        if content is None or not repo_name or not path:
            self.stat_update("rows_without_content_repo_or_path")
            return None
        licenses = _first(data, "licenses") or []
        if isinstance(licenses, str):
            licenses = [licenses]
        expressions = [normalise(str(name)).expression or "LicenseRef-Unknown" for name in licenses]
        expression = combine(expressions, "OR")
        language = self.languages.detect(path)
        if language is None and _first(data, "language"):
            candidate = str(_first(data, "language")).lower().replace(" ", "-").replace("#", "-sharp")
            language = candidate if candidate in self.languages else None
        stars, forks = _first(data, "stars"), _first(data, "forks")
        return make_document(
            content,
            path=path,
            repo_name=repo_name,
            owner=repo_name.split("/", 1)[0],
            licenses=normalise(expression).licenses if expression else [],
            license_expression=expression,
            license_source="dataset:" + next((c for c in _COLUMNS["licenses"] if c in data), "none"),
            language=language,
            ext=PurePosixPath(path).suffix.lower(),
            size=len(content.encode("utf-8")),
            stars=int(stars) if stars is not None else None,
            forks=int(forks) if forks is not None else None,
        )


class StackParquetReader(_StackRows, ParquetReader):
    """Stack-schema Parquet files (local or `hf://datasets/...`)."""

    name = "📒 Stack Parquet"

    def __init__(self, data_folder: str, languages: LanguageTable, **kwargs):
        super().__init__(data_folder, **kwargs)
        self.languages = languages


class StackJsonlReader(_StackRows, JsonlReader):
    """Stack-schema JSONL files (optionally compressed)."""

    name = "🐿 Stack JSONL"

    def __init__(self, data_folder: str, languages: LanguageTable, **kwargs):
        super().__init__(data_folder, **kwargs)
        self.languages = languages
