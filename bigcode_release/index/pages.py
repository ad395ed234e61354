"""Read an index's files once when a server starts, so that its first queries do not wait on the
disk: the indexes are memory-mapped, and a page read for the first time costs a disk read (measured
in benchmarks/bench_index.py: the cold first pass's p99 against the warm one's)."""

from __future__ import annotations

from pathlib import Path

CHUNK = 16 * 2**20


def read_into_page_cache(folder: Path) -> int:
    """Read every file under `folder` (into the operating system's page cache); the bytes read."""
    total = 0
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            with open(path, "rb", buffering=0) as handle:
                while chunk := handle.read(CHUNK):
                    total += len(chunk)
    return total
