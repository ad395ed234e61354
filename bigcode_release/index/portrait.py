"""A Data Portrait (Marone & Van Durme 2023): a Bloom filter of the data's 50-character chunks
(normalised whitespace, stride 50), small enough to download and query offline for a yes/no
answer: a text is in the data if consecutive windows 50 characters apart are all present.
Each membership shard's build hashes its own documents' chunks (`chunk_hashes`); the filter is then
set from every shard's hashes in turn (`write_filter`), so a sharded portrait is one filter
(`ShardWriter.finish`).

Every window's hash is a polynomial of its code points mod 2^64, finalised by splitmix64; the
filter's k probes are double hashing of two such values; hashing, probing and chaining windows are
numba kernels, so a query costs microseconds per window. A saved filter
(`portrait.bloom`, an .npz of the packed bits and its parameters) answers the same in any process.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numba import njit

WIDTH = 50
FALSE_POSITIVE_RATE = 0.01


_BASE = np.uint64(0x100000001B3)
_SECOND = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def _mix(value):
    """splitmix64's finaliser: every input bit reaches every output bit."""
    value = (value ^ (value >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    value = (value ^ (value >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return value ^ (value >> np.uint64(31))


@njit(cache=True)
def _window_hashes(codes, width, stride):
    count = (len(codes) - width) // stride + 1 if len(codes) >= width else 0
    out = np.empty(count, dtype=np.uint64)
    for k in range(count):
        value = np.uint64(0)
        for j in range(k * stride + width - 1, k * stride - 1, -1):  # Horner: sum of code * BASE^offset
            value = value * _BASE + np.uint64(codes[j])
        out[k] = _mix(value + np.uint64(width))
    return out


@njit(cache=True)
def _set(packed, size, hashes, probes):
    """Set each hash's probes in a filter of `size` bits packed little-endian (as `_test` reads it)."""
    size = np.uint64(size)
    for value in hashes:
        second = _mix(value ^ _SECOND) | np.uint64(1)
        for k in range(probes):
            position = (value + np.uint64(k) * second) % size
            packed[position >> np.uint64(3)] |= np.uint8(1) << np.uint8(position & np.uint64(7))


@njit(cache=True)
def _test(packed, size, probes, hashes):
    out = np.empty(len(hashes), dtype=np.bool_)
    for i in range(len(hashes)):
        value, present = hashes[i], True
        second = _mix(value ^ _SECOND) | np.uint64(1)
        for k in range(probes):
            position = (value + np.uint64(k) * second) % np.uint64(size)
            if not (packed[position >> np.uint64(3)] >> (position & np.uint64(7))) & 1:
                present = False
                break
        out[i] = present
    return out


@njit(cache=True)
def _chains(hits, width, min_chain):
    """Hits chained `width` apart: the longest chain, and (start, end) of each chain of `min_chain`
    or more windows."""
    chain = np.zeros(len(hits), dtype=np.int64)
    longest = 0
    for i in range(len(hits)):
        if hits[i]:
            chain[i] = chain[i - width] + 1 if i >= width else 1
            longest = max(longest, chain[i])
    starts, ends, found = np.empty(len(hits), dtype=np.int64), np.empty(len(hits), dtype=np.int64), 0
    for i in range(len(hits)):
        if chain[i] >= min_chain and (i + width >= len(hits) or chain[i + width] == 0):
            starts[found], ends[found] = i - (chain[i] - 1) * width, i + width
            found += 1
    return longest, starts[:found], ends[:found]


def window_hashes(normal: str, stride: int = 1) -> np.ndarray:
    """A 64-bit hash of every `WIDTH`-character window of `normal` starting at a multiple of
    `stride` (a polynomial of its code points, finalised by splitmix64): the same window gives the
    same hash wherever it is."""
    codes = np.frombuffer(normal.encode("utf-32-le"), dtype=np.uint32)
    return _window_hashes(codes, WIDTH, stride)


def normalise(text: str) -> str:
    """Data Portraits' normalisation: line breaks kept once, other whitespace runs as one space,
    no leading spaces on a line."""
    text = re.sub(r"[\r\n]+", "\n", text)
    text = re.sub(r"[^\S\n]+", " ", text)
    return re.sub(r"\n ", "\n", text)


def chunks(text: str) -> list[str]:
    normal = normalise(text)
    return [normal[i : i + WIDTH] for i in range(0, len(normal) - WIDTH + 1, WIDTH)]


def chunk_hashes(documents: Iterable[str]) -> tuple[np.ndarray, int]:
    """The distinct hashes of the documents' chunks (sorted) and how many chunks they have: what
    one shard of the data adds to the portrait."""
    parts = [window_hashes(normalise(text), stride=WIDTH) for text in documents]
    every = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    return np.unique(every), len(every)


def filter_shape(distinct: int) -> tuple[int, int]:
    """(bits, probes) of a filter holding `distinct` chunks at `FALSE_POSITIVE_RATE`."""
    bits = max(64, math.ceil(-max(distinct, 1) * math.log(FALSE_POSITIVE_RATE) / math.log(2) ** 2))
    return bits, max(1, round(bits / max(distinct, 1) * math.log(2)))


def write_filter(path: Path, hash_files: Sequence[Path]) -> int:
    """Save the portrait of the shards whose distinct chunk hashes are in `hash_files` (`.npy`,
    read one at a time, so memory holds the filter and one shard's hashes), sized for their summed
    counts: exactly the filter of one shard's hashes; with several, no bigger than a chunk held by
    several shards makes it. Returns that count."""
    distinct = sum(len(np.load(file, mmap_mode="r")) for file in hash_files)
    bits, probes = filter_shape(distinct)
    packed = np.zeros((bits + 7) // 8, dtype=np.uint8)
    for file in hash_files:
        _set(packed, bits, np.load(file), probes)
    with open(path, "wb") as handle:
        np.savez(handle, bits=packed, shape=np.array([bits, probes, WIDTH]))
    return distinct


@dataclass(frozen=True)
class PortraitAnswer:
    member: bool
    longest_chain: int
    windows: int
    badness: float
    spans: list[tuple[int, int]]  # in the normalised text

    def to_dict(self) -> dict:
        return {**self.__dict__, "spans": [list(s) for s in self.spans]}


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[np.ndarray, int, int]:
    with np.load(path) as saved:
        bits, probes, width = (int(v) for v in saved["shape"])
        if width != WIDTH:
            raise ValueError(f"{path}: a portrait of {width}-character chunks; this version reads {WIDTH}")
        return saved["bits"], bits, probes


def contains(path: Path, normal: str) -> np.ndarray:
    """For every window of the normalised text (stride 1), whether the filter holds it."""
    packed, bits, probes = _load(str(Path(path).resolve()))
    return _test(packed, bits, probes, window_hashes(normal))


def query(path: Path, text: str, min_chain: int = 2) -> PortraitAnswer:
    """Test every window at stride 1; chain hits exactly 50 apart; `member` when a chain reaches
    `min_chain` windows (about 100 characters)."""
    normal = normalise(text)
    hits = contains(path, normal)
    longest, starts, ends = _chains(hits, WIDTH, min_chain)
    spans = sorted(zip(starts.tolist(), ends.tolist()))
    windows = max((len(normal) - WIDTH + 1) / WIDTH, 1e-9)
    return PortraitAnswer(longest >= min_chain, int(longest), len(hits), round(longest / windows, 4), spans)
