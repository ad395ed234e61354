"""Byte-level suffix arrays over one shard's UTF-8 text (pydivsufsort), the reference backend of
the membership index: any snippet resolves to its occurrences' suffix-array rows and text positions,
and a text's maximal verbatim spans are found by extending matches position by position.

Shard files: `text.bin` (documents joined by 0xFF, a byte UTF-8 never uses) and `sa.npy` (int32).
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np


def _search(shard: SuffixArrayShard, pattern: bytes) -> tuple[int, int]:
    """(count, first SA row) of `pattern` in a shard with libdivsufsort's `sa_search`. pydivsufsort's
    wrapper converts the text and suffix array to ctypes pointers on every call (~50 us, 95% of a
    lookup); the pointers are made once per shard here and only the pattern is passed per call."""
    if shard.pointers is None:
        from pydivsufsort.divsufsort import libdivsufsort

        shard.pointers = (
            libdivsufsort.sa_search,
            ctypes.pointer(np.ctypeslib.as_ctypes(shard.text)),
            ctypes.pointer(np.ctypeslib.as_ctypes(shard.sa)),
            ctypes.c_int32(len(shard.text)),
        )
    function, text, sa, size = shard.pointers
    left = ctypes.c_int32()
    count = function(text, size, pattern, ctypes.c_int32(len(pattern)), sa, size, ctypes.byref(left))
    if count < 0:
        raise RuntimeError(f"libdivsufsort sa_search failed ({count})")
    return count, left.value


class SuffixArrayShard:
    """One shard's text and suffix array, memory-mapped; rows are suffix-array rows."""

    FILES = ("text.bin", "sa.npy")

    def __init__(self, folder: Path):
        self.text = np.fromfile(Path(folder) / "text.bin", dtype=np.uint8)
        self.sa = np.load(Path(folder) / "sa.npy", mmap_mode="c")
        self.pointers: tuple | None = None

    @staticmethod
    def build(folder: Path, text: np.ndarray, suffix_array: np.ndarray, separators: np.ndarray) -> None:
        """Keep the text and write its suffix array (the separators are not needed)."""
        np.save(Path(folder) / "sa.npy", suffix_array)

    def search(self, pattern: bytes) -> tuple[int, int]:
        """(count, first row) of `pattern`."""
        return _search(self, pattern)

    def positions(self, first: int, count: int) -> np.ndarray:
        """Text positions of rows first .. first + count - 1."""
        return np.asarray(self.sa[first : first + count], dtype=np.int64)

    def document_bytes(self, row: int, start: int, end: int) -> bytes:
        """The bytes of the shard's `row`-th document, which spans start .. end of the text."""
        return self.text[start:end].tobytes()

    def count(self, pattern: bytes) -> int:
        return _search(self, pattern)[0]

    def longest_match(self, data: bytes, start: int, minimum: int) -> int:
        """The length of the longest prefix of `data[start:]` found in the index (0 if shorter than
        `minimum`): exponential then binary search on the length."""
        if start + minimum > len(data) or not self._found(data[start : start + minimum]):
            return 0
        low, step = minimum, minimum
        while start + low + step <= len(data) and self._found(data[start : start + low + step]):
            low += step
            step *= 2
        high = min(low + step, len(data) - start)  # first length known (or assumed) not to match
        while high - low > 1:
            middle = (low + high) // 2
            if self._found(data[start : start + middle]):
                low = middle
            else:
                high = middle
        if start + high <= len(data) and high > low and self._found(data[start : start + high]):
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
        present = [bool(self._found(data[j : j + block])) for j in range(0, len(data) - block + 1, block)]
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
        if not self._found(data[reach : reach + 1]):
            return None
        high = reach
        while low < high:
            middle = (low + high) // 2
            if self._found(data[middle : reach + 1]):
                high = middle
            else:
                low = middle + 1
        return low

    def _found(self, pattern: bytes) -> bool:
        return self.count(pattern) > 0
