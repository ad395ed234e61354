"""Byte-level scans shared by the PII detectors: classify bytes with `bytes.translate` (C speed),
find runs of a class and summarise each run with one `reduceat`, all without a Python loop."""

from __future__ import annotations

import numpy as np


def table(members: dict[int, str]) -> bytes:
    """A translate table giving each byte the OR of the bit flags whose characters it is in."""
    codes = bytearray(256)
    for flag, characters in members.items():
        for character in characters.encode("latin-1"):
            codes[character] |= flag
    return bytes(codes)


def classify(raw: bytes, translation: bytes) -> np.ndarray:
    """Per byte of `raw`, its flags, with a zero before and after (so runs always open and close)."""
    return np.frombuffer(b"\0" + raw.translate(translation) + b"\0", dtype=np.uint8)


def runs(flags: np.ndarray, min_length: int) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) in `raw` offsets of the runs of nonzero flags at least `min_length` long."""
    edges = np.flatnonzero((flags[1:] != 0) != (flags[:-1] != 0))
    starts, ends = edges[0::2], edges[1::2]
    keep = ends - starts >= min_length
    return starts[keep], ends[keep]


def run_union(flags: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per run, the OR of its bytes' flags."""
    if starts.size == 0:
        return starts.astype(np.uint8)
    bounds = np.empty(2 * starts.size, dtype=np.intp)
    bounds[0::2], bounds[1::2] = starts + 1, ends + 1  # + 1: the leading zero of `classify`
    return np.bitwise_or.reduceat(flags, bounds)[0::2]


def run_count(flags: np.ndarray, starts: np.ndarray, ends: np.ndarray, flag: int) -> np.ndarray:
    """Per run, how many of its bytes carry `flag`."""
    if starts.size == 0:
        return starts
    bounds = np.empty(2 * starts.size, dtype=np.intp)
    bounds[0::2], bounds[1::2] = starts + 1, ends + 1
    return np.add.reduceat((flags & flag).astype(bool).astype(np.int32), bounds)[0::2]
