"""The documents of one dataset version, read from its Parquet shards in batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

COLUMNS = ["content", "repo_name", "path", "license_expression", "language"]


@dataclass(frozen=True)
class Document:
    number: int
    content: str
    repo: str
    path: str
    license: str
    language: str


def shards(version_dir: Path) -> list[Path]:
    return sorted((Path(version_dir) / "data").glob("*.parquet"))


def iter_documents(version_dir: Path, batch_size: int = 2048) -> Iterator[Document]:
    """Every document of the version, numbered in shard order (the numbering every index shares)."""
    number = 0
    for shard in shards(version_dir):
        for batch in pq.ParquetFile(shard).iter_batches(batch_size=batch_size, columns=COLUMNS):
            columns = batch.to_pydict()
            for content, repo, path, license_, language in zip(*(columns[c] for c in COLUMNS)):
                yield Document(number, content, repo, path, license_ or "", language or "")
                number += 1
