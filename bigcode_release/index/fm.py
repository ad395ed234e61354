"""A compact FM-index of one shard's text: the Burrows-Wheeler transform of `text + $` in a
Huffman-shaped wavelet tree, with rank by a two-level popcount directory and one suffix-array value
kept every `SAMPLE_RATE` rows for locating. At code's entropy that is about 0.8 bytes per byte of
text, against 5 for the suffix array and the text; it needs neither to answer.

What it answers is the suffix array's: the rows of `pattern`'s occurrences are the same suffix
order (row 0 is the suffix `$`, so row r here is row r - 1 there), their text positions, and any
document's text, read back by walking the transform. The kernels are compiled by numba (`nogil`,
so shards are queried from threads in parallel).

Files: `fm-bits.npy` (the wavelet tree's levels, uint64 words), `fm-super.npy` / `fm-block.npy`
(ones before each 65,536-bit superblock / 512-bit block), `fm-nodes.npy` (per tree node: first
bit, ones before it, children), `fm-paths.npy` (per symbol: its nodes and bits, root first),
`fm-counts.npy` (C: rows before each symbol's; the code lengths; the number of rows; the sample rate), `fm-samples.npy` (SA value of every
`SAMPLE_RATE`-th row), `fm-ends.npy` (each document's separator row).
"""

from __future__ import annotations

import heapq
from pathlib import Path

import numpy as np
from numba import njit

SAMPLE_RATE = 16  # one position kept per 16 rows: 0.25 B/B, locating walks 8 steps on average
SENTINEL = 256  # `$`: the end of the text, smaller than every byte
SYMBOLS = 257
MAX_CODE = 40  # Huffman codes longer than this are flattened
ARRAYS = ("fm-bits", "fm-super", "fm-block", "fm-nodes", "fm-paths", "fm-counts", "fm-samples", "fm-ends")


def huffman_lengths(frequencies: np.ndarray) -> np.ndarray:
    """Code length of each symbol (0 for symbols that do not occur), at most `MAX_CODE`."""
    weights = frequencies.astype(np.float64)
    while True:
        present = [int(s) for s in np.flatnonzero(weights)]
        lengths = np.zeros(len(weights), dtype=np.int64)
        if len(present) == 1:
            lengths[present[0]] = 1
            return lengths
        heap = [(weights[s], s, (s,)) for s in present]
        heapq.heapify(heap)
        while len(heap) > 1:
            w1, k1, a = heapq.heappop(heap)
            w2, k2, b = heapq.heappop(heap)
            for s in a + b:
                lengths[s] += 1
            heapq.heappush(heap, (w1 + w2, min(k1, k2), a + b))
        if lengths.max() <= MAX_CODE:
            return lengths
        weights = np.where(weights > 0, np.sqrt(weights) + 1, 0)  # flatter weights, shorter longest code


def canonical_codes(lengths: np.ndarray) -> np.ndarray:
    """Canonical prefix codes (as integers, most significant bit first) for the lengths."""
    codes = np.zeros(len(lengths), dtype=np.uint64)
    code, previous = 0, 0
    for symbol in sorted(np.flatnonzero(lengths), key=lambda s: (lengths[s], s)):
        code <<= int(lengths[symbol]) - previous
        codes[symbol] = code
        code, previous = code + 1, int(lengths[symbol])
    return codes


def _tree(lengths: np.ndarray, codes: np.ndarray, frequencies: np.ndarray):
    """Nodes of the code tree, level by level: (first bit, children) per node, and each symbol's
    path of nodes and bits. A node's bits are laid out after those of every node of a lower level
    and of the nodes left of it on its level."""
    prefixes: dict[tuple[int, int], int] = {}  # (level, prefix) -> node number
    for level in range(int(lengths.max())):
        for prefix in sorted({int(codes[s]) >> (int(lengths[s]) - level) for s in np.flatnonzero(lengths > level)}):
            prefixes[(level, prefix)] = len(prefixes)
    nodes = np.zeros((len(prefixes), 4), dtype=np.int64)  # first bit, ones before, child 0, child 1
    size = np.zeros(len(prefixes), dtype=np.int64)
    paths = np.full((SYMBOLS, 2, max(int(lengths.max()), 1)), -1, dtype=np.int64)
    for symbol in np.flatnonzero(lengths):
        length, code = int(lengths[symbol]), int(codes[symbol])
        for level in range(length):
            node = prefixes[(level, code >> (length - level))]
            bit = (code >> (length - level - 1)) & 1
            size[node] += frequencies[symbol]
            paths[symbol, 0, level], paths[symbol, 1, level] = node, bit
            child = prefixes.get((level + 1, code >> (length - level - 1)), -(int(symbol) + 1))
            nodes[node, 2 + bit] = child
    nodes[:, 0] = np.concatenate([[0], np.cumsum(size)[:-1]])
    return nodes, paths, int(size.sum())


@njit(cache=True)
def _popcount(word):
    word = word - ((word >> np.uint64(1)) & np.uint64(0x5555555555555555))
    word = (word & np.uint64(0x3333333333333333)) + ((word >> np.uint64(2)) & np.uint64(0x3333333333333333))
    word = (word + (word >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (word * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True, nogil=True)
def _fill_bits(bwt, paths, lengths, nodes, bits):
    filled = nodes[:, 0].copy()
    for j in range(len(bwt)):
        symbol = bwt[j]
        for level in range(lengths[symbol]):
            node = paths[symbol, 0, level]
            if paths[symbol, 1, level]:
                position = filled[node]
                bits[position >> 6] |= np.uint64(1) << np.uint64(position & 63)
            filled[node] += 1


@njit(cache=True, nogil=True)
def _directory(bits, superblocks, blocks):
    total = 0
    for word in range(len(bits)):
        if word % 1024 == 0:
            superblocks[word // 1024] = total
        if word % 8 == 0:
            blocks[word // 8] = total - superblocks[word // 1024]
        total += _popcount(bits[word])


@njit(cache=True, nogil=True)
def _rank1(bits, superblocks, blocks, position):
    """Ones in bits[0:position]."""
    word = position >> 6
    count = superblocks[word >> 10] + blocks[word >> 3]
    for w in range((word >> 3) << 3, word):
        count += _popcount(bits[w])
    rest = position & 63
    if rest:
        count += _popcount(bits[word] & ((np.uint64(1) << np.uint64(rest)) - np.uint64(1)))
    return count


@njit(cache=True, nogil=True)
def _lf(bits, superblocks, blocks, nodes, row):
    """(bwt[row], its rank before `row`): walks the tree from the root."""
    node, position = 0, row
    while True:
        at = nodes[node, 0] + position
        bit = (bits[at >> 6] >> np.uint64(at & 63)) & np.uint64(1)
        ones = _rank1(bits, superblocks, blocks, at) - nodes[node, 1]
        position = ones if bit else position - ones
        child = nodes[node, 3] if bit else nodes[node, 2]
        if child < 0:
            return -child - 1, position
        node = child


@njit(cache=True, nogil=True)
def _extend(bits, superblocks, blocks, nodes, paths, lengths, counts, symbol, low, high):
    """The rows of `symbol + w` from the rows [low, high) of `w`: one backward-search step, both ends
    in one walk down the symbol's path (empty as soon as they meet)."""
    if lengths[symbol] == 0:
        return 0, 0
    for level in range(lengths[symbol]):
        node = paths[symbol, 0, level]
        first, before = nodes[node, 0], nodes[node, 1]
        ones_low = _rank1(bits, superblocks, blocks, first + low) - before
        ones_high = _rank1(bits, superblocks, blocks, first + high) - before
        if paths[symbol, 1, level]:
            low, high = ones_low, ones_high
        else:
            low, high = low - ones_low, high - ones_high
        if low >= high:
            return 0, 0
    return counts[symbol] + low, counts[symbol] + high


@njit(cache=True, nogil=True)
def _interval(bits, superblocks, blocks, nodes, paths, lengths, counts, rows, pattern):
    """[low, high) rows of the suffixes starting with `pattern` (backward search)."""
    low, high = 0, rows
    for i in range(len(pattern) - 1, -1, -1):
        low, high = _extend(bits, superblocks, blocks, nodes, paths, lengths, counts, pattern[i], low, high)
        if low >= high:
            return 0, 0
    return low, high


@njit(cache=True, nogil=True)
def _maximal_spans(bits, superblocks, blocks, nodes, paths, lengths, counts, rows, data, minimum):
    """Maximal spans of `data` (at least `minimum` bytes) that occur in the text: their starts and
    ends, in order.

    From an end j, backward search extends the match left to the smallest start i. Spans ending
    before j that are not inside (i, j) start before i, so they hold data[i-1:j'] for their end j':
    the next end is the largest such j' (a binary search; shorter prefixes of an occurring string
    occur), or i - 1 when data[i-1] occurs nowhere. Ends where no span can reach `minimum` bytes are
    skipped: such a span holds a whole aligned block of minimum // 2 bytes that occurs."""
    n = len(data)
    block = max(minimum // 2, 1)
    present = np.zeros(n // block + 1, dtype=np.bool_)
    for b in range(n // block):
        low, high = _interval(
            bits, superblocks, blocks, nodes, paths, lengths, counts, rows, data[b * block : (b + 1) * block]
        )
        present[b] = high > low
    starts, ends, found_spans = np.empty(n + 1, dtype=np.int64), np.empty(n + 1, dtype=np.int64), 0
    last_start = n + 1
    end, start, low, high = n, n, 0, rows  # the match data[start:end] and its rows
    while True:
        if start == end:  # a fresh end: skip to where a span of `minimum` bytes could end
            b = end // block - 1
            while b >= 0 and not present[b]:
                b -= 1
            if b < 0:
                break
            end = min(end, b * block + minimum)
            if end > n:
                end = n
            start, low, high = end, 0, rows
        while start > 0:
            new_low, new_high = _extend(
                bits, superblocks, blocks, nodes, paths, lengths, counts, data[start - 1], low, high
            )
            if new_low >= new_high:
                break
            start, low, high = start - 1, new_low, new_high
        if end - start >= minimum and start < last_start:
            starts[found_spans], ends[found_spans] = start, end
            found_spans += 1
            last_start = start
        if start == 0:
            break
        # the largest end' in [start, end - 1] with data[start - 1 : end'] in the text
        found, found_low, found_high = -1, 0, 0
        left, right = start, end - 1
        while left <= right:
            middle = (left + right) // 2
            probe_low, probe_high = _interval(
                bits, superblocks, blocks, nodes, paths, lengths, counts, rows, data[start - 1 : middle]
            )
            if probe_high > probe_low:
                found, found_low, found_high = middle, probe_low, probe_high
                left = middle + 1
            else:
                right = middle - 1
        if found < 0:
            end = start = start - 1
        else:
            end, start, low, high = found, start - 1, found_low, found_high
        if end < minimum:
            break
    return starts[:found_spans][::-1].copy(), ends[:found_spans][::-1].copy()


@njit(cache=True, nogil=True)
def _locate(bits, superblocks, blocks, nodes, counts, samples, rate, first, count):
    """Text positions of rows first .. first + count - 1: each row walks back (LF) to a sampled row."""
    out = np.empty(count, dtype=np.int64)
    for k in range(count):
        row, steps = first + k, 0
        while row % rate:
            symbol, rank = _lf(bits, superblocks, blocks, nodes, row)
            if symbol == SENTINEL:  # the suffix at row starts the text
                break
            row = counts[symbol] + rank
            steps += 1
        out[k] = steps if row % rate else samples[row // rate] + steps
    return out


@njit(cache=True, nogil=True)
def _extract(bits, superblocks, blocks, nodes, counts, row, length):
    """The `length` bytes before the suffix at `row`, read backwards through the transform."""
    out = np.empty(length, dtype=np.uint8)
    for k in range(length - 1, -1, -1):
        symbol, rank = _lf(bits, superblocks, blocks, nodes, row)
        out[k] = symbol
        row = counts[symbol] + rank
    return out


@njit(cache=True, nogil=True)
def _transform(text, suffix_array, separator_positions, rate, bwt, samples, ends):
    """One pass over the suffix array of `text`: the transform of `text + $` (row 0 is `$`'s), the
    position of every `rate`-th row, and the row of each separator (in the order of the positions)."""
    n = len(text)
    bwt[0] = text[n - 1]
    samples[0] = n
    for k in range(n):
        position = suffix_array[k]
        bwt[k + 1] = text[position - 1] if position > 0 else SENTINEL
        if (k + 1) % rate == 0:
            samples[(k + 1) // rate] = position
        if text[position] == 0xFF:
            ends[np.searchsorted(separator_positions, position)] = k + 1


def build(folder: Path, text: np.ndarray, suffix_array: np.ndarray, separator_positions: np.ndarray) -> None:
    """Write the FM-index of `text` (uint8) from its suffix array into `folder`; the documents end
    at `separator_positions` (each document's separator byte, the only 0xFF bytes of the text)."""
    n = len(text)
    bwt = np.empty(n + 1, dtype=np.int16)
    samples = np.empty(n // SAMPLE_RATE + 1, dtype=np.int32 if n < 2**31 else np.int64)
    ends = np.empty(len(separator_positions), dtype=np.int64)
    _transform(text, suffix_array, np.asarray(separator_positions, dtype=np.int64), SAMPLE_RATE, bwt, samples, ends)
    frequencies = np.bincount(bwt, minlength=SYMBOLS).astype(np.int64)
    lengths = huffman_lengths(frequencies)
    nodes, paths, total_bits = _tree(lengths, canonical_codes(lengths), frequencies)
    bits = np.zeros((total_bits + 8 * 64) // 64 + 1, dtype=np.uint64)
    _fill_bits(bwt, paths, lengths, nodes, bits)
    superblocks = np.zeros(len(bits) // 1024 + 1, dtype=np.uint64)
    blocks = np.zeros(len(bits) // 8 + 1, dtype=np.uint16)
    _directory(bits, superblocks, blocks)
    for node in range(len(nodes)):
        nodes[node, 1] = _rank1(bits, superblocks, blocks, nodes[node, 0])
    counts = np.zeros(SYMBOLS, dtype=np.int64)  # rows before each symbol's: `$` first, then bytes in order
    counts[:256] = 1 + np.concatenate([[0], np.cumsum(frequencies[:255])])
    del bwt
    arrays = {
        "fm-bits": bits,
        "fm-super": superblocks,
        "fm-block": blocks,
        "fm-nodes": nodes,
        "fm-paths": paths,
        "fm-counts": np.concatenate([counts, lengths, [n + 1, SAMPLE_RATE]]),  # C, code lengths, rows, rate
        "fm-samples": samples,
        "fm-ends": ends,
    }
    for name, array in arrays.items():
        np.save(Path(folder) / f"{name}.npy", array)


class FMIndex:
    """A shard's FM-index, memory-mapped: counts, rows, positions and text (the interface of
    `suffix.SuffixArrayShard`)."""

    FILES = tuple(f"{name}.npy" for name in ARRAYS)

    def __init__(self, folder: Path):
        arrays = {name: np.load(Path(folder) / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
        self.bits, self.superblocks, self.blocks = arrays["fm-bits"], arrays["fm-super"], arrays["fm-block"]
        self.nodes, self.paths = np.ascontiguousarray(arrays["fm-nodes"]), np.ascontiguousarray(arrays["fm-paths"])
        counts = np.asarray(arrays["fm-counts"])
        self.counts = np.ascontiguousarray(counts[:SYMBOLS])
        self.lengths = np.ascontiguousarray(counts[SYMBOLS : 2 * SYMBOLS])
        self.samples, self.ends = arrays["fm-samples"], np.asarray(arrays["fm-ends"])
        self.rows = int(counts[2 * SYMBOLS])  # n + 1: the sentinel's row and one per byte
        self.rate = int(counts[2 * SYMBOLS + 1])  # rows per kept position

    build = staticmethod(build)

    @property
    def _search_arrays(self) -> tuple:
        """What backward search reads: the tree, its rank directory, C and the number of rows."""
        return (self.bits, self.superblocks, self.blocks, self.nodes, self.paths, self.lengths, self.counts, self.rows)

    def search(self, pattern: bytes) -> tuple[int, int]:
        """(count, first row) of `pattern`."""
        low, high = _interval(*self._search_arrays, np.frombuffer(pattern, dtype=np.uint8))
        return high - low, low

    def positions(self, first: int, count: int) -> np.ndarray:
        """Text positions of rows first .. first + count - 1."""
        walk = (self.bits, self.superblocks, self.blocks, self.nodes, self.counts)
        return _locate(*walk, self.samples, self.rate, first, count)

    def document_bytes(self, row: int, start: int, end: int) -> bytes:
        """The bytes of the shard's `row`-th document (start .. end of the text), read back from the
        row of the separator that ends it."""
        walk = (self.bits, self.superblocks, self.blocks, self.nodes, self.counts)
        return _extract(*walk, int(self.ends[row]), end - start).tobytes()

    def maximal_spans(self, data: bytes, minimum: int) -> list[tuple[int, int]]:
        """Byte spans of `data` of at least `minimum` bytes found in the text, each maximal, in order."""
        starts, ends = _maximal_spans(*self._search_arrays, np.frombuffer(data, dtype=np.uint8), minimum)
        return list(zip(starts.tolist(), ends.tolist()))
