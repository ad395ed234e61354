"""The membership index as a set of shards: documents are split by size into contiguous shards,
each sorted and indexed on its own (one process each, so shards can be built on different
machines), with a manifest of its own; queries fan out to the shards in threads and their answers
are merged, so a sharded index answers as a single one.

A shard folder holds `starts.npy` (each document's first byte), `docs.npy` (document numbers),
`manifest.json`, and its backend's files: `fm` (a compact FM-index, `fm.py`) or `suffix-array`
(the text and its suffix array, `suffix.py`, the reference implementation).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bigcode_release.errors import DataIndexError
from bigcode_release.hardware import available_memory_bytes, peak_rss_bytes, usable_cores
from bigcode_release.index import portrait

SEPARATOR = 0xFF
PORTRAIT_HASHES = "portrait-hashes.npy"
MAX_SHARD_BYTES = 2**31 - 1  # int32 suffix positions
BACKENDS = ("fm", "suffix-array")
DEFAULT_BACKEND = "fm"
# a shard build's peak resident memory: a process's base and a factor of its text, fitted to
# benchmarks/bench_index.py (fm: 4.6 GB for 277 MiB in one shard, 1.3 GB for each of four, so about
# 200 MiB + 15.3x; suffix-array: 1.6 GB for 277 MiB) and rounded up
BUILD_BASE_BYTES = 256 * 2**20
BUILD_BYTES_PER_TEXT_BYTE = {"fm": 16, "suffix-array": 6}


def build_memory_bytes(text_bytes: int, backend: str) -> int:
    """About the peak memory of building one shard of `text_bytes` with `backend`."""
    return BUILD_BASE_BYTES + BUILD_BYTES_PER_TEXT_BYTE[backend] * text_bytes


def build_processes(
    shard_bytes: list[int], backend: str, processes: int | None = None, available: int | None = None
) -> int:
    """How many shards to index at once: `processes` where given, else as many as this process has
    cores and as fit in `available` memory (`build_memory_bytes` of the largest shard each), never
    more than there are shards, never fewer than one.

    Raises:
        DataIndexError: `processes` below 1.
    """
    if processes is not None and processes < 1:
        raise DataIndexError(f"--processes must be at least 1, got {processes}")
    if processes is None:
        processes = usable_cores()
        if available is not None and shard_bytes:
            processes = min(processes, max(1, available // build_memory_bytes(max(shard_bytes), backend)))
    return max(1, min(len(shard_bytes), processes))


def _backend_class(name: str):
    if name == "fm":
        from bigcode_release.index.fm import FMIndex

        return FMIndex
    if name == "suffix-array":
        from bigcode_release.index.suffix import SuffixArrayShard

        return SuffixArrayShard
    raise DataIndexError(f"unknown membership backend {name!r}; choose one of {', '.join(BACKENDS)}")


class ShardWriter:
    """Collect documents into `shards` shards of about equal size (never over `max_bytes`), writing
    each shard's text as it fills; `finish` indexes them."""

    def __init__(self, folder: Path, expected_bytes: int, shards: int = 1, max_bytes: int = MAX_SHARD_BYTES):
        if shards < 1:
            raise DataIndexError(f"--shards must be at least 1, got {shards}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.target = min(max(math.ceil(expected_bytes / shards), 1), max_bytes)
        self.max_bytes, self.planned = max_bytes, shards
        self.parts: list[bytes] = []
        self.numbers: list[int] = []
        self.size = 0
        self.written: list[Path] = []
        self.processes = 0  # shards indexed at once by `finish`

    def add(self, number: int, content: str) -> None:
        data = content.encode("utf-8")
        full = self.size >= self.target and len(self.written) < self.planned - 1
        if self.parts and (full or self.size + len(data) + 1 > self.max_bytes):
            self.flush()
        self.parts.append(data)
        self.numbers.append(number)
        self.size += len(data) + 1

    def flush(self) -> None:
        if not self.parts:
            return
        folder = self.folder / f"shard-{len(self.written):04d}"
        folder.mkdir(parents=True, exist_ok=True)
        lengths = np.fromiter((len(p) + 1 for p in self.parts), dtype=np.int64, count=len(self.parts))
        np.save(folder / "starts.npy", np.concatenate([[0], np.cumsum(lengths)[:-1]]))
        np.save(folder / "docs.npy", np.asarray(self.numbers, dtype=np.int64))
        with open(folder / "text.bin", "wb") as handle:
            for part in self.parts:  # no joined copy of the shard in memory
                handle.write(part)
                handle.write(bytes([SEPARATOR]))
        self.parts, self.numbers, self.size = [], [], 0
        self.written.append(folder)

    def finish(self, backend: str, processes: int | None = None, portrait_path: Path | None = None) -> list[dict]:
        """Index every shard with `backend`, one process per shard, `build_processes` of them at once
        (`processes` where given), and with `portrait_path`, write there the portrait of every
        shard's documents (each shard hashes its own chunks); the shards' manifests. How many ran
        at once is kept as `self.processes`."""
        self.flush()
        _backend_class(backend)
        sizes = [(folder / "text.bin").stat().st_size for folder in self.written]
        self.processes = build_processes(sizes, backend, processes, available_memory_bytes())
        context = multiprocessing.get_context("spawn")  # a fresh process per shard: its peak memory is its own
        with ProcessPoolExecutor(self.processes, mp_context=context, max_tasks_per_child=1) as pool:
            count = len(self.written)
            manifests = list(
                pool.map(index_shard, self.written, [backend] * count, [portrait_path is not None] * count)
            )
        if portrait_path is not None:
            hash_files = [folder / PORTRAIT_HASHES for folder in self.written]
            portrait.write_filter(portrait_path, hash_files)
            for file in hash_files:
                file.unlink()
        return manifests


def index_shard(folder: Path, backend: str, portrait_hashes: bool = False) -> dict:
    """Sort one shard's text (pydivsufsort) and write `backend`'s files and the shard's manifest;
    with `portrait_hashes`, also the distinct hashes of its documents' portrait chunks
    (`PORTRAIT_HASHES`, for `portrait.write_filter`)."""
    from pydivsufsort import divsufsort

    started = time.monotonic()
    folder = Path(folder)
    text = np.fromfile(folder / "text.bin", dtype=np.uint8)
    starts = np.load(folder / "starts.npy")
    separators = np.concatenate([starts[1:], [len(text)]]) - 1
    backend_class = _backend_class(backend)
    backend_class.build(folder, text, divsufsort(text), separators)
    chunks = distinct = None
    if portrait_hashes:
        hashes, chunks = portrait.chunk_hashes(bytes(text[a:b]).decode("utf-8") for a, b in zip(starts, separators))
        np.save(folder / PORTRAIT_HASHES, hashes)
        distinct = int(len(hashes))
    if "text.bin" not in backend_class.FILES:
        os.remove(folder / "text.bin")  # the FM-index holds the text
    files = sorted(p.name for p in folder.iterdir() if p.name not in ("manifest.json", PORTRAIT_HASHES))
    docs = np.load(folder / "docs.npy")
    manifest = {
        "kind": "membership-shard",
        "backend": backend,
        "documents": int(len(docs)),
        "first_document": int(docs[0]),
        "last_document": int(docs[-1]),
        "text_bytes": int(len(text)),
        "portrait_chunks": chunks,
        "portrait_distinct_chunks": distinct,
        "bytes": {name: (folder / name).stat().st_size for name in files},
        "seconds": round(time.monotonic() - started, 2),
        "peak_rss_bytes": peak_rss_bytes(),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


@dataclass(frozen=True)
class Occurrences:
    """Where one byte string occurs: per shard (shard, first row, count)."""

    pattern_bytes: int
    ranges: tuple[tuple[int, int, int], ...]

    @property
    def count(self) -> int:
        return sum(r[2] for r in self.ranges)


class Shard:
    """One shard: its backend and its documents' numbers and first bytes."""

    def __init__(self, folder: Path):
        self.folder = folder
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        self.backend_name = manifest["backend"]
        self.backend = _backend_class(self.backend_name)(folder)
        self.starts = np.load(folder / "starts.npy")
        self.docs = np.load(folder / "docs.npy")
        self.text_bytes = int(manifest["text_bytes"])

    def documents_at(self, positions: np.ndarray) -> np.ndarray:
        """The document numbers holding these text positions."""
        return self.docs[np.searchsorted(self.starts, positions, side="right") - 1]


class ShardedIndex:
    """Read-only access to a membership index's shards (memory-mapped)."""

    def __init__(self, folder: Path):
        folders = sorted(Path(folder).glob("shard-*"))
        if not Path(folder).is_dir() or not all((f / "manifest.json").is_file() for f in folders):
            raise DataIndexError(f"{folder}: no complete membership index; run `bigcode-release index build`")
        self.shards = [Shard(f) for f in folders]  # none for a version without documents
        self._pool = ThreadPoolExecutor(len(self.shards)) if len(self.shards) > 1 else None

    def _each(self, function) -> list:
        """`function(shard)` for every shard, in parallel when there are several."""
        if self._pool is None:
            return [function(shard) for shard in self.shards]
        return list(self._pool.map(function, self.shards))

    def close(self) -> None:
        """Stop the threads that query the shards."""
        if self._pool is not None:
            self._pool.shutdown()

    def document_text(self, number: int) -> str:
        """The full text of document `number`."""
        for shard in self.shards:
            row = int(np.searchsorted(shard.docs, number))
            if row < len(shard.docs) and shard.docs[row] == number:
                start = int(shard.starts[row])
                end = int(shard.starts[row + 1]) - 1 if row + 1 < len(shard.starts) else shard.text_bytes - 1
                return shard.backend.document_bytes(row, start, end).decode("utf-8")
        raise KeyError(number)

    def find(self, pattern: bytes) -> Occurrences:
        """Every occurrence of `pattern` (a document boundary never matches: 0xFF is not UTF-8)."""
        if not pattern:
            raise DataIndexError("the pattern to find is empty")
        ranges = []
        for number, shard in enumerate(self.shards):
            count, first = shard.backend.search(pattern)
            if count:
                ranges.append((number, first, count))
        return Occurrences(len(pattern), tuple(ranges))

    def documents(
        self, found: Occurrences, limit: int, max_occurrences: int | None = None
    ) -> tuple[list[int], int, bool]:
        """The first `limit` document numbers holding the occurrences, how many documents hold them,
        and whether they were counted: a pattern found more than `max_occurrences` times is too
        common to locate (`([], 0, False)`). The rule reads only the exact occurrence count, so every
        backend and every sharding gives the same answer."""
        if max_occurrences is not None and found.count > max_occurrences:
            return [], 0, False
        numbers: set[int] = set()
        for shard_number, first, count in found.ranges:
            shard = self.shards[shard_number]
            numbers.update(int(n) for n in np.unique(shard.documents_at(shard.backend.positions(first, count))))
        ordered = sorted(numbers)
        return ordered[:limit], len(ordered), True

    def maximal_spans(self, data: bytes, minimum: int) -> list[tuple[int, int]]:
        """Byte spans of `data` of at least `minimum` bytes occurring verbatim in the index, each
        maximal (not inside another). A span of the whole index is one of some shard's, so the
        shards' maximal spans, less those inside another, are the index's."""
        if minimum < 1:
            raise DataIndexError(f"a span is at least 1 byte long, got a minimum of {minimum}")
        found = sorted(
            {span for spans in self._each(lambda s: s.backend.maximal_spans(data, minimum)) for span in spans}
        )
        merged: list[tuple[int, int]] = []
        for start, end in sorted(found, key=lambda span: (span[0], -span[1])):
            if merged and merged[-1][1] >= end:
                continue  # inside the span before it (which starts no later)
            merged.append((start, end))
        return merged
