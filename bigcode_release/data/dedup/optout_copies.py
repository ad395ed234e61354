"""Copies of opted-out code in other repositories, found with the dedup fingerprints.

The opt-out filter drops an opted-out owner's files early, so they never reach the fingerprints
step; it records them instead as *query* documents (never kept): their normalised content hash
and, when near dedup is on, their MinHash signature, under `work/dedup/optout-queries/`. The
resolver then marks every kept document that is a copy of a query:

- exact: the same normalised content hash (`keys.content_hash`), or
- near: a signature that shares a whole band with the query's (the LSH step of near dedup,
  `bands` x `rows_per_band`) and agrees with it on at least `jaccard_threshold` of the positions,
  MinHash's estimate of a Jaccard similarity of the word 5-gram sets of at least that much.

Each copy is removed with reason `opted_out_copy`, the request id and the original's `repo/path`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bigcode_release.data.dedup.keys import content_hash, normalised_content
from bigcode_release.data.dedup.shingles import ngram_hashes, word_hashes
from bigcode_release.data.dedup.signature import OnePermutationMinHash
from bigcode_release.recipe import NearDedupConfig

OPTED_OUT_COPY = "opted_out_copy"
# an opted-out file this short (normalised) is too generic to follow into other repositories: an
# `__init__.py` of one import, a license header; copies of it would be everyone's
MIN_QUERY_BYTES = 256


def query_schema(num_hashes: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("hash_hi", pa.uint64()),
            pa.field("hash_lo", pa.uint64()),
            pa.field("request_id", pa.string()),
            pa.field("original", pa.string()),
            pa.field("signature", pa.list_(pa.uint32(), max(num_hashes, 1))),
        ]
    )


class QueryRecorder:
    """Fingerprints of the opted-out documents one task drops, written as one Parquet file."""

    def __init__(self, near: NearDedupConfig | None):
        self.near = near
        self.num_hashes = near.bands * near.rows_per_band if near else 0
        self.minhash = OnePermutationMinHash(self.num_hashes, near.seed) if near else None
        self.rows: dict[str, list] = {name: [] for name in query_schema(self.num_hashes).names}

    def add(self, text: str, request_id: str, original: str) -> None:
        if len(normalised_content(text)) < MIN_QUERY_BYTES:
            return  # not read (no copy of it can be in the data either), or too generic to follow
        high, low = content_hash(text)
        signature = None
        if self.minhash is not None:
            shingles = ngram_hashes(word_hashes(text), self.near.n_grams)
            signature = self.minhash.signature(shingles).tolist() if shingles.size else None
        for name, value in zip(self.rows, (high, low, request_id, original, signature)):
            self.rows[name].append(value)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(self.rows, schema=query_schema(self.num_hashes)), path)


def load_queries(folder: Path) -> pa.Table | None:
    """Every task's query documents in one table (None when no task wrote any)."""
    files = sorted(Path(folder).glob("*.parquet")) if Path(folder).is_dir() else []
    tables = [pq.read_table(f) for f in files]
    tables = [t for t in tables if t.num_rows]
    return pa.concat_tables(tables) if tables else None


@dataclass(frozen=True)
class Copy:
    original: str
    request_id: str


def _band_keys(signatures: np.ndarray, rows: np.ndarray, band: int, rows_per_band: int) -> np.ndarray:
    """One 64-bit key per signature (of `rows`) for a band (a polynomial hash of its values; equal
    bands give equal keys, and every candidate is verified on the full signature afterwards)."""
    values = signatures[rows, band * rows_per_band : (band + 1) * rows_per_band].astype(np.uint64)
    key = np.zeros(len(values), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in range(values.shape[1]):
            key = key * np.uint64(0x100000001B3) + values[:, column] + np.uint64(1)
    return key


def find_copies(
    keys: pa.Table, signatures: np.ndarray | None, queries: pa.Table, near: NearDedupConfig | None
) -> dict[int, Copy]:
    """Row of `keys` -> the opted-out document it copies, for every exact or near copy."""
    originals = queries.column("original").to_pylist()
    requests = queries.column("request_id").to_pylist()
    found: dict[int, Copy] = {}
    by_hash = {
        (int(h), int(lo)): q
        for q, (h, lo) in enumerate(zip(queries.column("hash_hi").to_numpy(), queries.column("hash_lo").to_numpy()))
    }
    high, low = keys.column("hash_hi").to_numpy(), keys.column("hash_lo").to_numpy()
    for row in np.flatnonzero(np.isin(high, queries.column("hash_hi").to_numpy())).tolist():
        query = by_hash.get((int(high[row]), int(low[row])))
        if query is not None:
            found[row] = Copy(originals[query], requests[query])
    if near is None or signatures is None:
        return found
    listed = queries.column("signature").to_pylist()
    with_signature = [q for q, signature in enumerate(listed) if signature is not None]
    if not with_signature:
        return found
    query_signatures = np.array([listed[q] for q in with_signature], dtype=np.uint32)
    signed = np.flatnonzero(keys.column("shingles").to_numpy() > 0)
    candidates: set[tuple[int, int]] = set()
    for band in range(near.bands):
        row_keys = _band_keys(signatures, signed, band, near.rows_per_band)
        query_keys = _band_keys(query_signatures, np.arange(len(query_signatures)), band, near.rows_per_band)
        members: dict[int, list[int]] = {}
        for q, key in enumerate(query_keys.tolist()):
            members.setdefault(key, []).append(q)
        for position in np.flatnonzero(np.isin(row_keys, query_keys)).tolist():
            for q in members[int(row_keys[position])]:
                candidates.add((int(signed[position]), q))
    best: dict[int, tuple[float, int]] = {}
    for row, q in sorted(candidates):
        agreement = float((signatures[row] == query_signatures[q]).mean())
        if agreement >= near.jaccard_threshold and agreement > best.get(row, (-1.0, 0))[0]:
            best[row] = (agreement, q)
    for row, (_, q) in best.items():
        found.setdefault(row, Copy(originals[with_signature[q]], requests[with_signature[q]]))
    return found
