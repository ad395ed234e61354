"""A Data Portrait (Marone & Van Durme 2023): a Bloom filter of the data's 50-character chunks
(normalised whitespace, stride 50), small enough to download and query offline for a yes/no
answer: a text is in the data if consecutive windows 50 characters apart are all present.

Every window's hash comes from one pass of numpy over the text: a polynomial hash of the window's
code points mod 2^64 (prefix sums, so each window costs a subtraction and a multiplication),
finalised by splitmix64; the filter's k probes are double hashing of two such values. A saved filter
(`portrait.bloom`, an .npz of the packed bits and its parameters) answers the same in any process.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

WIDTH = 50
FALSE_POSITIVE_RATE = 0.01


_BASE = np.uint64(0x100000001B3)  # odd, so invertible mod 2^64
_BASE_INVERSE = np.uint64(pow(int(_BASE), -1, 2**64))
_SECOND = np.uint64(0x9E3779B97F4A7C15)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit reaches every output bit."""
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def window_hashes(normal: str, stride: int = 1) -> np.ndarray:
    """A 64-bit hash of every `WIDTH`-character window of `normal` starting at a multiple of
    `stride`: the same window gives the same hash wherever it is."""
    if len(normal) < WIDTH:
        return np.zeros(0, dtype=np.uint64)
    codes = np.frombuffer(normal.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.concatenate([[np.uint64(1)], np.full(len(codes) - 1, _BASE)]))
        inverse = np.cumprod(np.concatenate([[np.uint64(1)], np.full(len(codes) - 1, _BASE_INVERSE)]))
        prefix = np.concatenate([[np.uint64(0)], np.cumsum(codes * powers)])
        starts = np.arange(0, len(codes) - WIDTH + 1, stride)
        return _mix((prefix[starts + WIDTH] - prefix[starts]) * inverse[starts] + np.uint64(WIDTH))


def _probes(hashes: np.ndarray, bits: int, probes: int) -> np.ndarray:
    """The filter positions of each hash (one row each): double hashing."""
    with np.errstate(over="ignore"):
        second = _mix(hashes ^ _SECOND) | np.uint64(1)
        steps = np.arange(probes, dtype=np.uint64)
        return (hashes[:, None] + steps[None, :] * second[:, None]) % np.uint64(bits)


def normalise(text: str) -> str:
    """Data Portraits' normalisation: line breaks kept once, other whitespace runs as one space,
    no leading spaces on a line."""
    text = re.sub(r"[\r\n]+", "\n", text)
    text = re.sub(r"[^\S\n]+", " ", text)
    return re.sub(r"\n ", "\n", text)


def chunks(text: str) -> list[str]:
    normal = normalise(text)
    return [normal[i : i + WIDTH] for i in range(0, len(normal) - WIDTH + 1, WIDTH)]


class PortraitWriter:
    """Add documents' chunks, then save a filter sized for the distinct chunks at
    `FALSE_POSITIVE_RATE`."""

    def __init__(self):
        self.hashes: list[np.ndarray] = []
        self.chunks = 0

    def add(self, content: str) -> None:
        hashes = window_hashes(normalise(content), stride=WIDTH)
        self.hashes.append(hashes)
        self.chunks += len(hashes)

    def save(self, path: Path) -> None:
        distinct = np.unique(np.concatenate(self.hashes)) if self.hashes else np.zeros(0, dtype=np.uint64)
        bits = max(64, math.ceil(-max(len(distinct), 1) * math.log(FALSE_POSITIVE_RATE) / math.log(2) ** 2))
        probes = max(1, round(bits / max(len(distinct), 1) * math.log(2)))
        filter_bits = np.zeros(bits, dtype=np.bool_)
        for start in range(0, len(distinct), 1 << 20):  # a million chunks at a time
            filter_bits[_probes(distinct[start : start + (1 << 20)], bits, probes).ravel()] = True
        with open(path, "wb") as handle:
            np.savez(handle, bits=np.packbits(filter_bits, bitorder="little"), shape=np.array([bits, probes, WIDTH]))


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
    positions = _probes(window_hashes(normal), bits, probes)
    present = (packed[positions >> np.uint64(3)] >> (positions & np.uint64(7)).astype(np.uint8)) & 1
    return present.all(axis=1) if len(positions) else np.zeros(0, dtype=np.bool_)


def query(path: Path, text: str, min_chain: int = 2) -> PortraitAnswer:
    """Test every window at stride 1; chain hits exactly 50 apart; `member` when a chain reaches
    `min_chain` windows (about 100 characters)."""
    normal = normalise(text)
    hits = contains(path, normal)
    rows = -(-len(hits) // WIDTH)
    grid = np.zeros(rows * WIDTH, dtype=np.bool_)
    grid[: len(hits)] = hits
    grid = grid.reshape(rows, WIDTH)  # column c holds windows c, c + 50, c + 100, ...
    running = np.cumsum(grid, axis=0)
    chain = running - np.maximum.accumulate(np.where(grid, 0, running), axis=0)  # hits in a row, per column
    following = np.vstack([chain[1:], np.zeros((1, WIDTH), dtype=chain.dtype)])
    ends = np.argwhere((chain >= min_chain) & (following == 0))
    spans = sorted((int(r * WIDTH + c - (chain[r, c] - 1) * WIDTH), int(r * WIDTH + c + WIDTH)) for r, c in ends)
    longest = int(chain.max()) if rows else 0
    windows = max((len(normal) - WIDTH + 1) / WIDTH, 1e-9)
    return PortraitAnswer(longest >= min_chain, longest, len(hits), round(longest / windows, 4), spans)
