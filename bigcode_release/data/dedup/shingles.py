"""Word 5-gram shingles of code, hashed with vectorised numpy (no Python loop per word).

Words are what BigCode's near-dedup splits on: runs of `[A-Za-z0-9_]`, lowercased; a byte of a
non-ASCII character counts as a word character (so `héllo` is one word). A word's hash is a
polynomial hash of its bytes computed from prefix sums; an n-gram's hash combines its words'
hashes. Both go through splitmix64's finaliser, so the bits are well mixed for MinHash.
`reference_shingles` is the slow, obvious version the tests and benchmarks compare against.
"""

from __future__ import annotations

import re

import numpy as np
from datatrove.utils.word_tokenizers import WordTokenizer

_WORD_BYTES = np.zeros(256, dtype=np.int8)
for _byte in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_":
    _WORD_BYTES[_byte] = 1
_WORD_BYTES[0x80:] = 1
_LOWER = np.arange(256, dtype=np.uint64)
_LOWER[ord("A") : ord("Z") + 1] += 32
_LOWER += 1  # no byte hashes to zero

_BYTE_BASE = np.uint64(0x100000001B3)  # odd, so invertible modulo 2**64
_WORD_BASE = np.uint64(0x9E3779B97F4A7C15)
_powers = np.ones(1, dtype=np.uint64)
_inverse_powers = np.ones(1, dtype=np.uint64)


def _grow_powers(length: int) -> None:
    """Powers of the byte base and of its inverse modulo 2**64, up to `length`."""
    global _powers, _inverse_powers
    if len(_powers) > length:
        return
    size = max(length + 1, 2 * len(_powers), 1 << 16)
    inverse = pow(int(_BYTE_BASE), -1, 1 << 64)
    with np.errstate(over="ignore"):
        _powers = np.concatenate(([np.uint64(1)], np.cumprod(np.full(size - 1, _BYTE_BASE, dtype=np.uint64))))
        _inverse_powers = np.concatenate(
            ([np.uint64(1)], np.cumprod(np.full(size - 1, np.uint64(inverse), dtype=np.uint64)))
        )


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise (wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        values = values ^ (values >> np.uint64(30))
        values = values * np.uint64(0xBF58476D1CE4E5B9)
        values = values ^ (values >> np.uint64(27))
        values = values * np.uint64(0x94D049BB133111EB)
        return values ^ (values >> np.uint64(31))


def word_hashes(text: str) -> np.ndarray:
    """One uint64 per word of `text`, in order; equal words (case-insensitive) hash equally."""
    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    if data.size == 0:
        return np.empty(0, dtype=np.uint64)
    edges = np.diff(_WORD_BYTES[data], prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    if starts.size == 0:
        return np.empty(0, dtype=np.uint64)
    ends = np.flatnonzero(edges == -1)
    _grow_powers(data.size)
    with np.errstate(over="ignore"):
        prefix = np.empty(data.size + 1, dtype=np.uint64)
        prefix[0] = 0
        np.cumsum(_LOWER[data] * _powers[: data.size], out=prefix[1:])
        hashes = (prefix[ends] - prefix[starts]) * _inverse_powers[starts]
    return _mix(hashes)


def shingle_hashes(text: str, n: int = 5) -> np.ndarray:
    """One uint64 per word n-gram of `text` (empty when it has fewer than `n` words)."""
    return ngram_hashes(word_hashes(text), n)


def ngram_hashes(words: np.ndarray, n: int) -> np.ndarray:
    """One uint64 per n-gram of a sequence of word hashes."""
    count = words.size - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        combined = words[:count].copy()
        for offset in range(1, n):
            combined = combined * _WORD_BASE + words[offset : offset + count]
    return _mix(combined)


_REFERENCE_WORD = re.compile(r"[A-Za-z0-9_\x80-\U0010ffff]+")


def reference_words(text: str) -> list[str]:
    """The words of `text` as the shingles see them (lowercased ASCII letters), computed plainly."""
    return _REFERENCE_WORD.findall(text.lower() if text.isascii() else _ascii_lower(text))


def reference_shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """The set of word n-grams of `text`, computed plainly (for tests and quality benchmarks)."""
    words = reference_words(text)
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER_TABLE)


_ASCII_LOWER_TABLE = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


class CodeWordTokenizer(WordTokenizer):
    """datatrove word tokenizer for code (in place of its English spaCy default): words are
    runs of `[A-Za-z0-9_]` and non-ASCII characters, sentences are non-blank lines."""

    def __init__(self):
        super().__init__("code")

    def word_tokenize(self, text: str) -> list[str]:
        return _REFERENCE_WORD.findall(text)

    def sent_tokenize(self, text: str) -> list[str]:
        return [line for line in text.splitlines() if line.strip()]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [match.span() for match in _REFERENCE_WORD.finditer(text)]
