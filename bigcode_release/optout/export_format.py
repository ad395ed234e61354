"""The opt-out export format: the one contract between the opt-out registry and the dataset build.

A list is JSONL (one object per line) or Parquet (the same columns):

    {"owner": "octocat", "request_id": "req-0001"}                       # the whole account
    {"owner": "octocat", "repo": "octocat/hello-world", "request_id": "req-0002"}  # one repository

- `owner` (required): a GitHub username or organisation;
- `repo` (optional): `owner/name`, and its owner must be `owner`; without it the whole account is removed;
- `request_id` (required): the registry request that asked for it.

Matching is case-insensitive, as GitHub names are.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from bigcode_release.errors import OptOutListError
from bigcode_release.jsonl import read_jsonl

FIELDS = ("owner", "repo", "request_id")


@dataclass(frozen=True)
class OptOutEntry:
    owner: str
    request_id: str
    repo: str | None = None

    def __post_init__(self):
        if not isinstance(self.owner, str) or not self.owner.strip() or "/" in self.owner:
            raise ValueError(f"owner must be a GitHub username, got {self.owner!r}")
        if not isinstance(self.request_id, str) or not self.request_id.strip():
            raise ValueError("request_id must be a non-empty string")
        if self.repo is not None:
            if not isinstance(self.repo, str) or self.repo.count("/") != 1 or not all(self.repo.split("/")):
                raise ValueError(f"repo must be 'owner/name', got {self.repo!r}")
            if self.repo.split("/")[0].lower() != self.owner.lower():
                raise ValueError(f"repo {self.repo!r} is not owned by {self.owner!r}")


class OptOutList:
    """A loaded opt-out list, answering `match(repo_name)` case-insensitively."""

    def __init__(self, entries: list[OptOutEntry]):
        self.entries = entries
        self._owners = {e.owner.lower(): e.request_id for e in entries if e.repo is None}
        self._repos = {e.repo.lower(): e.request_id for e in entries if e.repo is not None}

    def match(self, repo_name: str) -> str | None:
        """The request id that removes `owner/name`, or None."""
        owner = repo_name.split("/", 1)[0].lower()
        return self._owners.get(owner) or self._repos.get(repo_name.lower())

    def __len__(self) -> int:
        return len(self.entries)


def _entry(row: dict, where: str) -> OptOutEntry:
    if not isinstance(row, dict):
        raise OptOutListError(f"{where}: expected an object with {FIELDS}, got {type(row).__name__}")
    unknown = set(row) - set(FIELDS)
    if unknown:
        raise OptOutListError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {list(FIELDS)}")
    try:
        return OptOutEntry(owner=row.get("owner"), request_id=row.get("request_id"), repo=row.get("repo"))
    except ValueError as exc:
        raise OptOutListError(f"{where}: {exc}") from None


def read_optout_list(path: str | Path) -> OptOutList:
    """Load an opt-out list (`.jsonl` or `.parquet`).

    Raises:
        OptOutListError: the file is missing or a line is malformed (the message names file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise OptOutListError(f"opt-out list {path} does not exist")
    entries: list[OptOutEntry] = []
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for index, row in enumerate(pq.read_table(path).to_pylist(), start=1):
            entries.append(_entry({k: v for k, v in row.items() if v is not None}, f"{path} row {index}"))
        return OptOutList(entries)
    for number, row in read_jsonl(path, OptOutListError):
        entries.append(_entry(row, f"{path} line {number}"))
    return OptOutList(entries)


def write_optout_list(entries: list[OptOutEntry], path: str | Path) -> Path:
    """Write entries as JSONL (sorted, so the same requests give the same bytes)."""
    path = Path(path)
    rows = sorted((asdict(e) for e in entries), key=lambda r: (r["owner"].lower(), r["repo"] or "", r["request_id"]))
    lines = [json.dumps({k: v for k, v in row.items() if v is not None}, sort_keys=True) for row in rows]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path
