"""The read plan: which repositories and files a build reads, fixed before any task starts.

Sources made of files on disk (installed distributions, a folder of checkouts) are listed once,
up front, into `plan.json`. Tasks read their share of it, so every task sees the same inputs,
the build is deterministic, and the plan's digest fingerprints the input in the manifest.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RepoFile:
    path: str  # inside the repository, POSIX
    abspath: str
    size: int
    language: str | None
    sha256: str | None = None  # of the content, when the source knows it (RECORD) or it was read
    origin: str | None = None  # `owner/name` of the project a vendored copy comes from
    origin_path: str | None = None  # the file's path in that project
    # the license of the part of the repository the file sits in, when it declares its own (a vendored
    # subtree's license file or dist-info): `license.subtrees`; None: the repository's
    license_expression: str | None = None
    license_source: str | None = None


@dataclass(frozen=True)
class RepoSpec:
    """One repository to read, with its repository-level license decision."""

    repo_name: str  # owner/name
    owner: str
    origin: str  # where it came from, e.g. "pypi:numpy 2.4.6" or a folder path
    license_expression: str | None
    licenses: tuple[str, ...]
    license_source: str
    license_category: str
    files: tuple[RepoFile, ...]
    stars: int | None = None
    forks: int | None = None


@dataclass
class ReadPlan:
    source: str
    repos: list[RepoSpec] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # things not planned, by reason

    @property
    def total_files(self) -> int:
        return sum(len(r.files) for r in self.repos)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for r in self.repos for f in r.files)

    def save(self, path: Path) -> None:
        data = {"source": self.source, "skipped": self.skipped, "repos": [asdict(r) for r in self.repos]}
        Path(path).write_text(json.dumps(data, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> ReadPlan:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        repos = [
            RepoSpec(**{**r, "licenses": tuple(r["licenses"]), "files": tuple(RepoFile(**f) for f in r["files"])})
            for r in data["repos"]
        ]
        return cls(data["source"], repos, data["skipped"])

    def digest(self) -> str:
        """sha256 over every planned file's repository, path, size, content hash and origin (not
        machine paths), and each repository's license decision."""
        digest = hashlib.sha256()
        for repo in self.repos:
            digest.update(f"{repo.repo_name}\t{repo.license_expression}\t{repo.license_category}\n".encode())
            for f in repo.files:
                digest.update(f"{repo.repo_name}\t{f.path}\t{f.size}\t{f.sha256}\t{f.origin}".encode())
                digest.update(f"\t{f.license_expression}\n".encode() if f.license_expression else b"\n")
        return digest.hexdigest()

    def repo_names(self) -> set[str]:
        return {r.repo_name for r in self.repos}


def assign_ranks(sizes: list[int], world_size: int) -> list[int]:
    """Deterministic balanced assignment: largest item first to the least-loaded rank."""
    loads = [(0, rank) for rank in range(world_size)]
    heapq.heapify(loads)
    ranks = [0] * len(sizes)
    for index in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        load, rank = heapq.heappop(loads)
        ranks[index] = rank
        heapq.heappush(loads, (load + sizes[index], rank))
    return ranks
