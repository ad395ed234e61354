"""MinHash signatures for code: one-permutation hashing with optimal densification.

Classic MinHash applies K hash functions to every shingle (K x shingles multiplications, the
bulk of datatrove's stage 1). One-permutation hashing (Li, Owen & Zhang 2012) hashes each
shingle once, sends it to one of K bins by its high bits and keeps each bin's minimum of the
low bits; optimal densification (Shrivastava 2017) fills an empty bin from another bin picked
by a fixed random probe sequence, so that for two documents the probability that position i
agrees is their Jaccard similarity, as with K permutations, at the cost of one pass.
"""

from __future__ import annotations

import numpy as np

EMPTY = np.uint64(0xFFFFFFFF)
_LOW32 = np.uint64(0xFFFFFFFF)
_PROBES_PER_BIN = 2048
_PROBE_WINDOWS = ((0, 16), (16, 256), (256, _PROBES_PER_BIN))


class OnePermutationMinHash:
    """Signatures of `num_hashes` 32-bit values from 64-bit shingle hashes; same seed, same signature."""

    def __init__(self, num_hashes: int, seed: int = 1):
        if not 1 <= num_hashes <= 1 << 16:
            raise ValueError(f"num_hashes must be in [1, 65536], got {num_hashes}")
        self.num_hashes = num_hashes
        rng = np.random.default_rng(seed)
        self._salt = np.uint64(rng.integers(1, 1 << 63))
        self._probes = rng.integers(0, num_hashes, size=(num_hashes, _PROBES_PER_BIN), dtype=np.int32)

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """The signature (uint32, `num_hashes` values) of a non-empty array of uint64 shingle hashes."""
        if shingles.size == 0:
            raise ValueError("a signature needs at least one shingle")
        salted = shingles ^ self._salt
        bins = ((salted >> np.uint64(32)) * np.uint64(self.num_hashes)) >> np.uint64(32)
        values = np.full(self.num_hashes, EMPTY, dtype=np.uint64)
        np.minimum.at(values, bins.astype(np.intp), salted & _LOW32)
        filled = values != EMPTY
        if not filled.all():
            values = self._densify(values, filled)
        return values.astype(np.uint32)

    def _densify(self, values: np.ndarray, filled: np.ndarray) -> np.ndarray:
        """Fill each empty bin from the first filled bin on its probe sequence (probes are read
        a few at a time: most bins find a donor within the first ones)."""
        empty = np.flatnonzero(~filled)
        donors = np.full(empty.size, -1, dtype=np.intp)
        pending = np.arange(empty.size)
        for low, high in _PROBE_WINDOWS:
            if pending.size == 0:
                break
            probes = self._probes[empty[pending], low:high]
            hits = filled[probes]
            first = hits.argmax(axis=1)
            found = hits[np.arange(pending.size), first]
            donors[pending[found]] = probes[np.arange(pending.size), first][found]
            pending = pending[~found]
        if pending.size:  # rare (a handful of filled bins): nearest filled bin to the right
            filled_bins = np.flatnonzero(filled)
            nearest = np.searchsorted(filled_bins, empty[pending]) % filled_bins.size
            donors[pending] = filled_bins[nearest]
        densified = values.copy()
        densified[empty] = values[donors]
        return densified


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """The fraction of signature positions where two signatures agree."""
    return float(np.count_nonzero(a == b)) / a.size
