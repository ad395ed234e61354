""" "Am I in The Stack?": what each dataset version holds of a GitHub account.

All versions' `repos.parquet` rows are merged into one lookup index, `lookup-index.parquet` in the
release directory, sorted by `owner_key` (the lowercased owner) in row groups of 10,000 rows. A
lookup bisects the row groups' min/max statistics (kept in memory: a few KB per million rows) and
reads only the row group(s) that can hold the account: one small read per lookup whatever the
number of versions. The index is rebuilt (with DuckDB) whenever the set of built versions changes.
"""

from __future__ import annotations

import bisect
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bigcode_release.data.drop_reasons import OPTED_OUT, describe_counts, explain
from bigcode_release.errors import ReleaseDirectoryError
from bigcode_release.layout import VERSIONS_DIR, ReleaseLayout
from bigcode_release.manifest import read_manifest
from bigcode_release.optout.identity import check_username

INDEX_ROW_GROUP = 10_000
_COLUMNS = (
    "repo_name",
    "included",
    "drop_reason",
    "kept_files",
    "files",
    "kept_bytes",
    "bytes",
    "license",
    "optout_request_id",
    "dropped_by_reason",
)
# columns a version built by an earlier toolkit may lack, and what it reads as then
_ADDED_COLUMNS = {"dropped_by_reason": "[]::STRUCT(reason VARCHAR, files BIGINT)[]"}


@dataclass
class VersionLookup:
    """One dataset version's answer for an account."""

    version: str
    repos: list[dict] = field(default_factory=list)
    built_at: float | None = None  # when the version was built (its manifest's `run.built_at`)

    def why(self, repo: dict) -> str:
        """In plain language: why a repository is not in this version (with the opt-out request that
        removed it), or, for an included one, which of its files were left out and why."""
        counts = repo.get("dropped_by_reason") or []
        if repo["included"]:
            return f"left out: {describe_counts(counts)}" if counts else ""
        reason = repo["drop_reason"]
        text = explain(reason) if reason else ""
        if reason == OPTED_OUT and repo.get("optout_request_id"):
            built = f", built {time.strftime('%Y-%m-%d', time.gmtime(self.built_at))}" if self.built_at else ""
            text += f": request {repo['optout_request_id']}, removed from {self.version}{built}"
        others = [row for row in counts if row["reason"] != reason]
        return text + (f" (also {describe_counts(others)})" if others else "")

    @property
    def included(self) -> list[dict]:
        return [r for r in self.repos if r["included"]]

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "in_this_version": bool(self.included),
            "repos": [{**r, "why": self.why(r)} for r in self.repos],
        }


def dataset_versions(release_dir: str | Path) -> list[Path]:
    """Built versions of a release directory that have a repos table, oldest first."""
    versions = [d for d in ReleaseLayout.at(release_dir).built_versions() if (d / "repos.parquet").is_file()]
    if not versions:
        raise ReleaseDirectoryError(f"{release_dir} holds no built dataset version (no {VERSIONS_DIR}/*/repos.parquet)")
    return versions


def _fingerprint(versions: list[Path]) -> list[list[str]]:
    """What the index was built from: its columns, then each version and its manifest hash (an index
    an earlier toolkit wrote with other columns is built again)."""
    return [
        ["columns", *_COLUMNS],
        *([d.name, json.loads((d / "manifest.json").read_text(encoding="utf-8"))["manifest_hash"]] for d in versions),
    ]


def build_lookup_index(release_dir: str | Path) -> Path:
    """(Re)build `lookup-index.parquet` from every built version; returns its path."""
    layout = ReleaseLayout.at(release_dir)
    versions = dataset_versions(release_dir)
    index = layout.lookup_index
    tmp = index.with_name(f".{index.name}.tmp")
    union = " UNION ALL ".join(
        f"SELECT ? AS version, owner_key, {', '.join(_select(d / 'repos.parquet'))} FROM read_parquet(?)"
        for d in versions
    )
    params = [value for d in versions for value in (d.name, str(d / "repos.parquet"))]
    con = duckdb.connect()
    con.execute(
        f"COPY ({union} ORDER BY owner_key, lower(repo_name), version) TO '{tmp}' "
        f"(FORMAT parquet, ROW_GROUP_SIZE {INDEX_ROW_GROUP}, COMPRESSION zstd)",
        params,
    )
    os.replace(tmp, index)
    index.with_name(f"{index.name}.json").write_text(json.dumps(_fingerprint(versions)) + "\n", encoding="utf-8")
    return index


def _select(table: Path) -> list[str]:
    """The index's columns as one version's table gives them (an added column it lacks as its default)."""
    present = set(pq.read_schema(table).names)
    return [
        column if column in present or column not in _ADDED_COLUMNS else f"{_ADDED_COLUMNS[column]} AS {column}"
        for column in _COLUMNS
    ]


class RepoLookup:
    """Case-insensitive lookups of accounts across a release's dataset versions."""

    def __init__(self, release_dir: str | Path):
        versions = dataset_versions(release_dir)
        self.versions = {d.name: d / "repos.parquet" for d in versions}
        self.built_at = {d.name: ((read_manifest(d) or {}).get("run") or {}).get("built_at") for d in versions}
        index = ReleaseLayout.at(release_dir).lookup_index
        stamp = index.with_name(f"{index.name}.json")
        fresh = index.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == _fingerprint(versions)
        self.file = pq.ParquetFile(index if fresh else build_lookup_index(release_dir))
        metadata, column = self.file.metadata, self.file.schema_arrow.get_field_index("owner_key")
        stats = [metadata.row_group(i).column(column).statistics for i in range(metadata.num_row_groups)]
        self._mins = [s.min for s in stats]
        self._maxs = [s.max for s in stats]

    def lookup(self, username: str, version: str | None = None) -> list[VersionLookup]:
        """Per version (or the one asked), the account's repositories: included or why not."""
        username = check_username(username)
        if version is not None and version not in self.versions:
            raise ReleaseDirectoryError(f"no dataset version {version!r}; built: {', '.join(self.versions)}")
        key = username.lower()
        answers = {
            name: VersionLookup(name, built_at=self.built_at[name])
            for name in self.versions
            if version is None or name == version
        }
        group = bisect.bisect_left(self._maxs, key)
        while group < len(self._mins) and self._mins[group] <= key:
            table = self.file.read_row_group(group, columns=["version", "owner_key", *_COLUMNS])
            for row in table.filter(pc.equal(table["owner_key"], key)).to_pylist():
                if row["version"] in answers:
                    answers[row["version"]].repos.append({column: row[column] for column in _COLUMNS})
            group += 1
        return list(answers.values())
