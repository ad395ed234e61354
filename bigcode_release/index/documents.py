"""The documents of one dataset version, read from its Parquet shards in batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

COLUMNS = ["content", "repo_name", "path", "license_expression", "language"]
ORIGIN_COLUMNS = ["origin_repo", "origin_path"]  # absent from versions built before they were recorded


@dataclass(frozen=True)
class Document:
    number: int
    content: str
    repo: str
    path: str
    license: str
    language: str
    origin_repo: str | None = None  # a vendored copy: the project it comes from, and its path there
    origin_path: str | None = None


def shards(version_dir: Path) -> list[Path]:
    return sorted((Path(version_dir) / "data").glob("*.parquet"))


def iter_documents(version_dir: Path, batch_size: int = 2048) -> Iterator[Document]:
    """Every document of the version, numbered in shard order (the numbering every index shares)."""
    number = 0
    for shard in shards(version_dir):
        file = pq.ParquetFile(shard)
        origins = [c for c in ORIGIN_COLUMNS if c in file.schema_arrow.names]
        for batch in file.iter_batches(batch_size=batch_size, columns=COLUMNS + origins):
            columns = batch.to_pydict()
            none = [None] * batch.num_rows
            rows = zip(*(columns[c] for c in COLUMNS), *(columns.get(c, none) for c in ORIGIN_COLUMNS))
            for content, repo, path, license_, language, origin_repo, origin_path in rows:
                yield Document(number, content, repo, path, license_ or "", language or "", origin_repo, origin_path)
                number += 1
