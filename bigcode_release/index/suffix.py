"""Byte-level suffix arrays over the documents' UTF-8 text (pydivsufsort), in shards of at most
2 GiB, with a document-offset table: any snippet resolves to the documents it occurs in, with
counts, and a text's maximal verbatim spans are found by extending matches position by position.

Shard layout: `text.bin` (documents joined by 0xFF, a byte UTF-8 never uses), `sa.npy` (int32),
`starts.npy` (each document's first byte, int64) and `docs.npy` (each document's number).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SEPARATOR = 0xFF
MAX_SHARD_BYTES = 2**31 - 1  # int32 suffix positions


class ShardWriter:
    """Collect documents into shards and sort each when it is full."""

    def __init__(self, folder: Path, max_bytes: int = MAX_SHARD_BYTES):
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.parts: list[bytes] = []
        self.numbers: list[int] = []
        self.size = 0
        self.shards = 0

    def add(self, number: int, content: str) -> None:
        data = content.encode("utf-8")
        if self.parts and self.size + len(data) + 1 > self.max_bytes:
            self.flush()
        self.parts.append(data)
        self.numbers.append(number)
        self.size += len(data) + 1

    def flush(self) -> None:
        if not self.parts:
            return
        from pydivsufsort import divsufsort

        folder = self.folder / f"shard-{self.shards:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        lengths = np.fromiter((len(p) + 1 for p in self.parts), dtype=np.int64, count=len(self.parts))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        text = np.frombuffer(bytearray(bytes([SEPARATOR]).join(self.parts) + bytes([SEPARATOR])), dtype=np.uint8)
        np.save(folder / "sa.npy", divsufsort(text))
        text.tofile(folder / "text.bin")
        np.save(folder / "starts.npy", starts)
        np.save(folder / "docs.npy", np.asarray(self.numbers, dtype=np.int64))
        self.parts, self.numbers, self.size = [], [], 0
        self.shards += 1


@dataclass(frozen=True)
class Occurrences:
    """Where one byte string occurs: per shard (shard, first SA row, count)."""

    pattern_bytes: int
    ranges: tuple[tuple[int, int, int], ...]

    @property
    def count(self) -> int:
        return sum(r[2] for r in self.ranges)


def _search(shard: dict, pattern: bytes) -> tuple[int, int]:
    """(count, first SA row) of `pattern` in a shard with libdivsufsort's `sa_search`. pydivsufsort's
    wrapper converts the text and suffix array to ctypes pointers on every call (~50 us, 95% of a
    lookup); the pointers are made once per shard here and only the pattern is passed per call."""
    if "pointers" not in shard:
        from pydivsufsort.divsufsort import libdivsufsort

        shard["pointers"] = (
            libdivsufsort.sa_search,
            ctypes.pointer(np.ctypeslib.as_ctypes(shard["text"])),
            ctypes.pointer(np.ctypeslib.as_ctypes(shard["sa"])),
            ctypes.c_int32(len(shard["text"])),
        )
    function, text, sa, size = shard["pointers"]
    left = ctypes.c_int32()
    count = function(text, size, pattern, ctypes.c_int32(len(pattern)), sa, size, ctypes.byref(left))
    if count < 0:
        raise RuntimeError(f"libdivsufsort sa_search failed ({count})")
    return count, left.value


class SuffixIndex:
    """Read-only access to the shards (memory-mapped)."""

    def __init__(self, folder: Path):
        self.shards = []
        for shard in sorted(Path(folder).glob("shard-*")):
            self.shards.append(
                {
                    "text": np.fromfile(shard / "text.bin", dtype=np.uint8),
                    "sa": np.load(shard / "sa.npy", mmap_mode="c"),
                    "starts": np.load(shard / "starts.npy"),
                    "docs": np.load(shard / "docs.npy"),
                }
            )

    def document_text(self, number: int) -> str:
        """The full text of document `number`."""
        for shard in self.shards:
            row = int(np.searchsorted(shard["docs"], number))
            if row < len(shard["docs"]) and shard["docs"][row] == number:
                start = int(shard["starts"][row])
                end = int(shard["starts"][row + 1]) - 1 if row + 1 < len(shard["starts"]) else len(shard["text"]) - 1
                return shard["text"][start:end].tobytes().decode("utf-8")
        raise KeyError(number)

    def find(self, pattern: bytes) -> Occurrences:
        """Every occurrence of `pattern` (a document boundary never matches: 0xFF is not UTF-8)."""
        ranges = []
        for number, shard in enumerate(self.shards):
            count, first = _search(shard, pattern)
            if count:
                ranges.append((number, first, count))
        return Occurrences(len(pattern), tuple(ranges))

    def documents(self, found: Occurrences, limit: int, cap: int | None = None) -> tuple[list[int], int, bool]:
        """The first `limit` distinct document numbers holding the occurrences, how many documents
        hold them, and whether that count is complete. With `cap`, counting stops once `cap`
        documents are found or `20 * cap` occurrences are read (the count is then "at least")."""
        numbers: set[int] = set()
        budget = None if cap is None else 20 * cap
        complete = True
        for shard_number, first, count in found.ranges:
            if budget is not None:
                if budget <= 0 or len(numbers) >= cap:
                    complete = False
                    break
                if count > budget:
                    count, complete = budget, False
                budget -= count
            shard = self.shards[shard_number]
            positions = np.asarray(shard["sa"][first : first + count], dtype=np.int64)
            rows = np.searchsorted(shard["starts"], positions, side="right") - 1
            numbers.update(int(n) for n in shard["docs"][np.unique(rows)])
        ordered = sorted(numbers)
        return ordered[:limit], len(ordered), complete

    def longest_match(self, data: bytes, start: int, minimum: int) -> int:
        """The length of the longest prefix of `data[start:]` found in the index (0 if shorter than
        `minimum`): exponential then binary search on the length."""
        if start + minimum > len(data) or not self.find(data[start : start + minimum]).count:
            return 0
        low, step = minimum, minimum
        while start + low + step <= len(data) and self.find(data[start : start + low + step]).count:
            low += step
            step *= 2
        high = min(low + step, len(data) - start)  # first length known (or assumed) not to match
        while high - low > 1:
            middle = (low + high) // 2
            if self.find(data[start : start + middle]).count:
                low = middle
            else:
                high = middle
        if start + high <= len(data) and high > low and self.find(data[start : start + high]).count:
            low = high
        return low

    def maximal_spans(self, data: bytes, minimum: int) -> list[tuple[int, int]]:
        """Byte spans of `data` of at least `minimum` bytes occurring verbatim in the index, each
        maximal (not inside another span).

        Two shortcuts keep lookups far below one per position: a span of `minimum` bytes contains
        a whole aligned block of `minimum // 2` bytes, so starts whose next block is absent are
        skipped; and inside a span ending at `reach`, the starts from which `data[start:reach+1]`
        occurs form a suffix of the range (a suffix of an occurring string occurs), found by
        binary search; earlier starts can only give spans inside the one already found."""
        block = max(minimum // 2, 1)
        present = [bool(self.find(data[j : j + block]).count) for j in range(0, len(data) - block + 1, block)]
        spans: list[tuple[int, int]] = []
        reach, start = 0, 0
        while start + minimum <= len(data):
            if start < reach:
                if reach >= len(data):
                    break
                start = self._first_start_reaching(data, start, reach)
                if start is None:
                    start = reach
                    continue
            next_block = -(-start // block)
            if next_block < len(present) and not present[next_block]:
                start += 1
                continue
            length = self.longest_match(data, start, minimum)
            if length and start + length > reach:
                spans.append((start, start + length))
                reach = start + length
            start += 1
        return spans

    def _first_start_reaching(self, data: bytes, low: int, reach: int) -> int | None:
        """The smallest start in [low, reach] with data[start:reach+1] in the index, or None."""
        if not self.find(data[reach : reach + 1]).count:
            return None
        high = reach
        while low < high:
            middle = (low + high) // 2
            if self.find(data[middle : reach + 1]).count:
                high = middle
            else:
                low = middle + 1
        return low
