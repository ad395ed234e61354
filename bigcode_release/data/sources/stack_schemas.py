"""How each edition of The Stack lays out its rows, and the files a build reads from them.

- `v1` (`bigcode/the-stack`): one row per file, `content` inline, the repository with the most
  stars named by `max_stars_repo_name`/`max_stars_repo_path`, its detected licenses in
  `max_stars_repo_licenses`. Several licenses are read as a choice (OR), as v1 listed the license
  files found side by side.
- `v2` (`bigcode/the-stack-v2`): one row per file without its contents: `blob_id` names the file in
  Software Heritage's archive (read through a `ContentStore`), `src_encoding` its encoding;
  `detected_licenses` (ScanCode, applied to every file under the license file's folder) and
  `license_type` (`permissive` or `no_license`). Several detected licenses all apply (AND). A row
  that carries `content` (many mirrors do) is read as it is.
- `v3` (`HuggingFaceCode/stack-v3-train`): one row per repository, its files inline in `files`,
  with the repository's `license_type` and `detected_licenses`; a file's own `detected_licenses`,
  where present, is its license. The column list could not be read offline: the names used are
  those of the fields above plus `repo_path` and `files[].file_path`, as a public consumer of
  the dataset reads them, with `repo_name`/`files[].path` accepted as well.
- `auto`: one row per file in any of the column names above, or this toolkit's own output.

The licenses a dataset states are honoured as given; the recipe's license filter still decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from loguru import logger

from bigcode_release.data.sources.content_store import BlobNotFound, ContentStore
from bigcode_release.license.spdx import combine, normalise

SchemaName = Literal["auto", "v1", "v2", "v3"]
Skip = Callable[[str], None]  # counts a row (or file) that yields nothing, by reason


@dataclass(frozen=True)
class StackFile:
    """One file as a Stack edition describes it."""

    repo_name: str
    path: str
    content: str
    license_expression: str | None
    license_source: str
    language: str | None  # the dataset's language name: a hint after the file's extension
    stars: int | None = None
    forks: int | None = None


def _first(row: dict, columns: tuple[str, ...]):
    for column in columns:
        if row.get(column) is not None:
            return row[column]
    return None


def _listed(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def licenses_expression(names: list[str], operator: Literal["AND", "OR"]) -> str | None:
    """The SPDX expression of licenses a dataset lists; a name not understood is `LicenseRef-Unknown`."""
    return combine([normalise(name).expression or "LicenseRef-Unknown" for name in names], operator)


def _count(value) -> int | None:
    return int(value) if value is not None else None


class FileRowSchema:
    """One row per file, its columns found by name (`v1`, or any known names for `auto`)."""

    def __init__(self, name: SchemaName, columns: dict[str, tuple[str, ...]], operator: Literal["AND", "OR"]):
        self.name = name
        self.columns = columns
        self.operator = operator

    def missing(self, columns: set[str]) -> list[str]:
        """Column groups none of whose names is among `columns` (content, repository, path)."""
        return [
            "/".join(self.columns[key])
            for key in ("content", "repo_name", "path")
            if not columns & set(self.columns[key])
        ]

    def files(self, row: dict, skip: Skip) -> Iterator[StackFile]:
        content = _first(row, self.columns["content"])
        repo_name = _first(row, self.columns["repo_name"])
        path = _first(row, self.columns["path"])
        if content is None or not repo_name or not path:
            skip("rows_without_content_repo_or_path")
            return
        licenses_column = next((c for c in self.columns["licenses"] if row.get(c) is not None), None)
        yield StackFile(
            repo_name=repo_name,
            path=str(path).lstrip("/"),
            content=content,
            license_expression=licenses_expression(_listed(_first(row, self.columns["licenses"])), self.operator),
            license_source=f"dataset:{licenses_column or 'none'}",
            language=_first(row, self.columns["language"]),
            stars=_count(_first(row, self.columns["stars"])),
            forks=_count(_first(row, self.columns["forks"])),
        )


V1_COLUMNS = {
    "content": ("content",),
    "path": ("max_stars_repo_path", "max_issues_repo_path", "max_forks_repo_path"),
    "repo_name": ("max_stars_repo_name", "max_issues_repo_name", "max_forks_repo_name"),
    "licenses": ("max_stars_repo_licenses", "max_issues_repo_licenses", "max_forks_repo_licenses"),
    "stars": ("max_stars_count",),
    "forks": ("max_forks_count",),
    "language": ("lang",),
}
AUTO_COLUMNS = {
    "content": ("content", "text"),
    "path": ("path", *V1_COLUMNS["path"]),
    "repo_name": ("repo_name", *V1_COLUMNS["repo_name"]),
    "licenses": ("licenses", "detected_licenses", *V1_COLUMNS["licenses"], "license"),
    "stars": ("stars", "max_stars_count", "star_events_count"),
    "forks": ("forks", "max_forks_count", "fork_events_count"),
    "language": ("language", "lang"),
}


class V2Schema:
    """The Stack v2: file rows whose contents come from a content store by `blob_id`."""

    name: SchemaName = "v2"
    required = ("blob_id", "repo_name", "path", "detected_licenses")

    def __init__(self, content_store: ContentStore | None):
        self.content_store = content_store

    def missing(self, columns: set[str]) -> list[str]:
        return [column for column in self.required if column not in columns]

    def files(self, row: dict, skip: Skip) -> Iterator[StackFile]:
        if not row.get("repo_name") or not row.get("path"):
            skip("rows_without_repo_or_path")
            return
        content = row.get("content")
        if content is None:
            content = self._content(row, skip)
            if content is None:
                return
        yield StackFile(
            repo_name=row["repo_name"],
            path=str(row["path"]).lstrip("/"),
            content=content,
            license_expression=licenses_expression(_listed(row.get("detected_licenses")), "AND"),
            license_source=f"dataset:detected_licenses (license_type {row.get('license_type') or 'not given'})",
            language=row.get("language"),
            stars=_count(row.get("star_events_count")),
            forks=_count(row.get("fork_events_count")),
        )

    def _content(self, row: dict, skip: Skip) -> str | None:
        if self.content_store is None:
            skip("rows_without_content_and_no_content_store")
            return None
        try:
            return self.content_store.read_text(row["blob_id"], row.get("src_encoding"))
        except BlobNotFound:
            skip("blobs_missing_from_content_store")
        except (UnicodeDecodeError, LookupError):
            skip("blobs_not_decodable_in_src_encoding")
        except (OSError, EOFError) as exc:  # a truncated gzip blob, a store that did not answer
            skip("blobs_unreadable")
            logger.warning(f"blob {row['blob_id']}: {type(exc).__name__}: {exc}")
        return None


class V3Schema:
    """The Stack v3: one row per repository, its files inline."""

    name: SchemaName = "v3"
    repo_columns = ("repo_name", "repo_path", "repo")
    path_columns = ("file_path", "path")

    def missing(self, columns: set[str]) -> list[str]:
        missing = [] if columns & set(self.repo_columns) else ["/".join(self.repo_columns)]
        return missing + ([] if "files" in columns else ["files"])

    def files(self, row: dict, skip: Skip) -> Iterator[StackFile]:
        repo_name = _first(row, self.repo_columns)
        if not repo_name or not row.get("files"):
            skip("repositories_without_name_or_files")
            return
        repo_licenses = licenses_expression(_listed(row.get("detected_licenses")), "AND")
        repo_source = f"dataset:detected_licenses (license_type {row.get('license_type') or 'not given'})"
        stars = _count(_first(row, ("stars", "star_events_count", "stars_count")))
        forks = _count(_first(row, ("forks", "fork_events_count", "forks_count")))
        for entry in row["files"]:
            path, content = _first(entry, self.path_columns), entry.get("content")
            if content is None or not path:
                skip("files_without_content_or_path")
                continue
            own = entry.get("detected_licenses")
            yield StackFile(
                repo_name=repo_name,
                path=str(path).lstrip("/"),
                content=content,
                license_expression=licenses_expression(_listed(own), "AND") if own else repo_licenses,
                license_source="dataset:files.detected_licenses" if own else repo_source,
                language=entry.get("language"),
                stars=stars,
                forks=forks,
            )


def stack_schema(name: SchemaName, content_store: str | None = None):
    """The schema a `kind: stack` source names."""
    if name == "v1":
        return FileRowSchema("v1", V1_COLUMNS, "OR")
    if name == "v2":
        return V2Schema(ContentStore(content_store) if content_store else None)
    if name == "v3":
        return V3Schema()
    return FileRowSchema("auto", AUTO_COLUMNS, "OR")
