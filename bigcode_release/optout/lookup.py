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
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bigcode_release.errors import ReleaseDirectoryError
from bigcode_release.layout import VERSIONS_DIR, ReleaseLayout
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
)


@dataclass
class VersionLookup:
    """One dataset version's answer for an account."""

    version: str
    repos: list[dict] = field(default_factory=list)

    @property
    def included(self) -> list[dict]:
        return [r for r in self.repos if r["included"]]

    def to_dict(self) -> dict:
        return {"version": self.version, "in_this_version": bool(self.included), "repos": self.repos}


def dataset_versions(release_dir: str | Path) -> list[Path]:
    """Built versions of a release directory that have a repos table, oldest first."""
    versions = [d for d in ReleaseLayout.at(release_dir).built_versions() if (d / "repos.parquet").is_file()]
    if not versions:
        raise ReleaseDirectoryError(f"{release_dir} holds no built dataset version (no {VERSIONS_DIR}/*/repos.parquet)")
    return versions


def _fingerprint(versions: list[Path]) -> list[list[str]]:
    """What the index was built from: each version and its manifest hash."""
    return [[d.name, json.loads((d / "manifest.json").read_text(encoding="utf-8"))["manifest_hash"]] for d in versions]


def build_lookup_index(release_dir: str | Path) -> Path:
    """(Re)build `lookup-index.parquet` from every built version; returns its path."""
    layout = ReleaseLayout.at(release_dir)
    versions = dataset_versions(release_dir)
    index = layout.lookup_index
    tmp = index.with_name(f".{index.name}.tmp")
    union = " UNION ALL ".join(
        f"SELECT ? AS version, owner_key, {', '.join(_COLUMNS)} FROM read_parquet(?)" for _ in versions
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


class RepoLookup:
    """Case-insensitive lookups of accounts across a release's dataset versions."""

    def __init__(self, release_dir: str | Path):
        versions = dataset_versions(release_dir)
        self.versions = {d.name: d / "repos.parquet" for d in versions}
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
        answers = {name: VersionLookup(name) for name in self.versions if version is None or name == version}
        group = bisect.bisect_left(self._maxs, key)
        while group < len(self._mins) and self._mins[group] <= key:
            table = self.file.read_row_group(group, columns=["version", "owner_key", *_COLUMNS])
            for row in table.filter(pc.equal(table["owner_key"], key)).to_pylist():
                if row["version"] in answers:
                    answers[row["version"]].repos.append({column: row[column] for column in _COLUMNS})
            group += 1
        return list(answers.values())
