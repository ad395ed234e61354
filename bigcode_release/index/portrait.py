"""A Data Portrait (Marone & Van Durme 2023): a Bloom filter of the data's 50-character chunks
(normalised whitespace, stride 50), small enough to download and query offline for a yes/no
answer: a text is in the data if consecutive windows 50 characters apart are all present.

The hash is xxh3-128 (deterministic), so a saved filter answers in any process; rbloom's default
hash is Python's salted `hash()`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import xxhash

WIDTH = 50
FALSE_POSITIVE_RATE = 0.01


def _hash(item: str) -> int:
    value = xxhash.xxh3_128_intdigest(item.encode("utf-8"))
    return value - (1 << 128) if value >= (1 << 127) else value  # rbloom wants a signed 128-bit int


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
    """Add documents' chunks to a filter sized for `expected_chunks`, then save it."""

    def __init__(self, expected_chunks: int):
        from rbloom import Bloom

        self.bloom = Bloom(max(expected_chunks, 1), FALSE_POSITIVE_RATE, hash_func=_hash)
        self.chunks = 0

    def add(self, content: str) -> None:
        pieces = chunks(content)
        self.bloom.update(pieces)
        self.chunks += len(pieces)

    def save(self, path: Path) -> None:
        self.bloom.save(str(path))


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
def _load(path: str):
    from rbloom import Bloom

    return Bloom.load(path, _hash)


def query(path: Path, text: str, min_chain: int = 2) -> PortraitAnswer:
    """Test every window at stride 1; chain hits exactly 50 apart; `member` when a chain reaches
    `min_chain` windows (about 100 characters)."""
    bloom = _load(str(Path(path).resolve()))
    normal = normalise(text)
    hits = [normal[i : i + WIDTH] in bloom for i in range(0, max(len(normal) - WIDTH + 1, 0))]
    chain = [0] * len(hits)
    spans, longest = [], 0
    for i, hit in enumerate(hits):
        if hit:
            chain[i] = chain[i - WIDTH] + 1 if i >= WIDTH else 1
            longest = max(longest, chain[i])
    for i, length in enumerate(chain):
        ends_here = length and (i + WIDTH >= len(chain) or chain[i + WIDTH] == 0)
        if ends_here and length >= min_chain:
            spans.append((i - (length - 1) * WIDTH, i + WIDTH))
    windows = max((len(normal) - WIDTH + 1) / WIDTH, 1e-9)
    return PortraitAnswer(longest >= min_chain, longest, len(hits), round(longest / windows, 4), sorted(spans))
