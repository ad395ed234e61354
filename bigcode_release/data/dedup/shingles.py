"""Word 5-gram shingles of code, hashed with vectorised numpy (no Python loop per word).

Words are what BigCode's near-dedup splits on: runs of `[A-Za-z0-9_]`, lowercased; a byte of a
non-ASCII character counts as a word character (so `héllo` is one word). A word's hash is a
polynomial hash of its bytes computed from prefix sums; an n-gram's hash combines its words'
hashes. Both go through splitmix64's finaliser, so the bits are well mixed for MinHash.
`reference_shingles` is the slow, obvious version the tests and benchmarks compare against.
"""

from __future__ import annotations

import re
import string

import numpy as np
from datatrove.utils.word_tokenizers import WordTokenizer

# bytes.translate tables run at C speed, about 3x faster than a numpy table lookup
_WORD_TABLE = bytes(1 if chr(b) in string.ascii_letters + string.digits + "_" or b >= 0x80 else 0 for b in range(256))


class _Powers:
    """Powers of an odd base and of its inverse modulo 2**64, grown on demand."""

    def __init__(self, base: int):
        self.base = np.uint64(base)
        self.inverse = np.uint64(pow(base, -1, 1 << 64))
        self.powers = self.inverse_powers = np.ones(1, dtype=np.uint64)

    def upto(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.powers) <= length:
            size = max(length + 1, 2 * len(self.powers), 1 << 16)
            with np.errstate(over="ignore"):
                self.powers = np.cumprod(np.full(size, self.base, dtype=np.uint64)) * self.inverse
                self.inverse_powers = np.cumprod(np.full(size, self.inverse, dtype=np.uint64)) * self.base
        return self.powers[:length], self.inverse_powers[:length]


_BYTE_POWERS = _Powers(0x100000001B3)
_WORD_POWERS = _Powers(0x9E3779B97F4A7C15)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise (wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        values = values ^ (values >> np.uint64(30))
        values = values * np.uint64(0xBF58476D1CE4E5B9)
        values = values ^ (values >> np.uint64(27))
        values = values * np.uint64(0x94D049BB133111EB)
        return values ^ (values >> np.uint64(31))


def _windows(values: np.ndarray, powers: _Powers, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Polynomial hashes of `values[start:end]` for each window, from one prefix sum:
    (P[end] - P[start]) / base**start, with P[i] the sum of values[j] * base**j for j < i."""
    forward, backward = powers.upto(values.size)
    with np.errstate(over="ignore"):
        prefix = np.empty(values.size + 1, dtype=np.uint64)
        prefix[0] = 0
        np.cumsum(values * forward, out=prefix[1:])
        return (prefix[ends] - prefix[starts]) * backward[starts]


def word_hashes(text: str) -> np.ndarray:
    """One uint64 per word of `text`, in order; equal words (case-insensitive) hash equally."""
    raw = text.encode("utf-8", "surrogatepass")
    mask = np.frombuffer(b"\0" + raw.translate(_WORD_TABLE) + b"\0", dtype=np.int8)
    edges = np.flatnonzero(mask[1:] != mask[:-1])
    if edges.size == 0:
        return np.empty(0, dtype=np.uint64)
    values = np.frombuffer(raw.lower(), dtype=np.uint8).astype(np.uint64)
    values += np.uint64(1)  # no byte hashes to zero
    return _mix(_windows(values, _BYTE_POWERS, edges[0::2], edges[1::2]))


def shingle_hashes(text: str, n: int = 5) -> np.ndarray:
    """One uint64 per word n-gram of `text` (empty when it has fewer than `n` words)."""
    return ngram_hashes(word_hashes(text), n)


def ngram_hashes(words: np.ndarray, n: int) -> np.ndarray:
    """One uint64 per n-gram of a sequence of word hashes (empty when there are fewer than `n`)."""
    count = words.size - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    starts = np.arange(count)
    return _mix(_windows(words, _WORD_POWERS, starts, starts + n))


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
