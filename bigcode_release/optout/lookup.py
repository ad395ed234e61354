""""Am I in The Stack?": what each dataset version holds of a GitHub account.

Each version's `repos.parquet` is the lookup index: one row per repository seen, sorted by
`owner_key` (lowercased owner) in row groups, so DuckDB reads only the row groups whose min/max
statistics can contain the account. Nothing is held in memory between lookups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from bigcode_release.errors import ReleaseDirectoryError
from bigcode_release.optout.identity import check_username

VERSIONS_DIR = "dataset-versions"
_COLUMNS = ("repo_name", "included", "drop_reason", "kept_files", "files", "kept_bytes", "bytes", "license",
            "optout_request_id")


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
    """Built versions of a release directory, oldest first."""
    root = Path(release_dir) / VERSIONS_DIR
    versions = sorted((d for d in root.glob("*") if (d / "repos.parquet").is_file()),
                      key=lambda d: tuple(int(p) for p in d.name.lstrip("v").split(".") if p.isdigit()))
    if not versions:
        raise ReleaseDirectoryError(f"{release_dir} holds no built dataset version (no {VERSIONS_DIR}/*/repos.parquet)")
    return versions


class RepoLookup:
    """Case-insensitive lookups of accounts across a release's dataset versions."""

    def __init__(self, release_dir: str | Path):
        self.versions = {d.name: d / "repos.parquet" for d in dataset_versions(release_dir)}
        self.con = duckdb.connect()
        self.con.execute("SET threads = 1")

    def lookup(self, username: str, version: str | None = None) -> list[VersionLookup]:
        """Per version (or the one asked), the account's repositories: included or why not."""
        username = check_username(username)
        if version is not None and version not in self.versions:
            raise ReleaseDirectoryError(f"no dataset version {version!r}; built: {', '.join(self.versions)}")
        answers = []
        for name, path in self.versions.items():
            if version is not None and name != version:
                continue
            rows = self.con.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM read_parquet(?) WHERE owner_key = ? ORDER BY lower(repo_name)",
                [str(path), username.lower()],
            ).fetchall()
            answers.append(VersionLookup(name, [dict(zip(_COLUMNS, row)) for row in rows]))
        return answers


def honoured_requests(release_dir: str | Path) -> list[tuple[str, list[str]]]:
    """(version, request ids its opt-out list held) for each built version, oldest first."""
    import json

    honoured = []
    for version_dir in dataset_versions(release_dir):
        manifest = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
        honoured.append((version_dir.name, manifest["inputs"]["optout"].get("request_ids") or []))
    return honoured
