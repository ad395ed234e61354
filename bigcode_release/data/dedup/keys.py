"""What exact dedup compares (a normalised content hash) and which copy it keeps (a priority).

Priority, as The Stack v2 ranks copies: license category first (permissive, then no license,
then anything else), then more stars, then more forks, then the smaller `repo_name/path` in
byte order as a stable tie-break that does not depend on task or worker order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import xxhash
from datatrove.data import Document

from bigcode_release.license.spdx import categorise

LICENSE_RANK = {"permissive": 2, "no_license": 1}

KEYS_SCHEMA = pa.schema(
    [
        pa.field("doc", pa.uint32()),
        pa.field("hash_hi", pa.uint64()),
        pa.field("hash_lo", pa.uint64()),
        pa.field("license_rank", pa.int8()),
        pa.field("stars", pa.int64()),
        pa.field("forks", pa.int64()),
        pa.field("id", pa.string()),
        pa.field("shingles", pa.int64()),
        pa.field("contamination", pa.string()),
    ]
)


def normalised_content(text: str) -> bytes:
    """The content exact dedup compares: UTF-8, `\\r\\n` as `\\n`, no trailing whitespace on any
    line, no leading or trailing blank lines."""
    data = text.encode("utf-8", "surrogatepass").replace(b"\r\n", b"\n")
    if b" \n" in data or b"\t\n" in data or b"\r" in data:
        data = b"\n".join(line.rstrip() for line in data.split(b"\n"))
    return data.strip(b"\n").rstrip()


def content_hash(text: str) -> tuple[int, int]:
    """128-bit hash of the normalised content, as (high, low) 64-bit halves."""
    digest = xxhash.xxh3_128_intdigest(normalised_content(text))
    return digest >> 64, digest & 0xFFFFFFFFFFFFFFFF


class KeyRecorder:
    """Collects one keys row per document, in the order documents pass."""

    def __init__(self, allowlist: frozenset[str]):
        self.allowlist = allowlist
        self._license_ranks: dict[str | None, int] = {}
        self.columns: dict[str, list] = {name: [] for name in KEYS_SCHEMA.names}

    def license_rank(self, expression: str | None) -> int:
        if expression not in self._license_ranks:
            self._license_ranks[expression] = LICENSE_RANK.get(categorise(expression, self.allowlist), 0)
        return self._license_ranks[expression]

    def add(self, index: int, doc: Document, shingles: int, contamination: str | None) -> None:
        meta = doc.metadata
        high, low = content_hash(doc.text)
        row = (
            index,
            high,
            low,
            self.license_rank(meta.get("license_expression")),
            meta.get("stars") or 0,
            meta.get("forks") or 0,
            doc.id,
            shingles,
            contamination,
        )
        for name, value in zip(KEYS_SCHEMA.names, row):
            self.columns[name].append(value)

    def table(self) -> pa.Table:
        return pa.table(self.columns, schema=KEYS_SCHEMA)


def priority_order(keys: pa.Table) -> np.ndarray:
    """Each row's place when rows are sorted best first (0 = kept before all others)."""
    ids = keys.column("id").to_numpy(zero_copy_only=False).astype(str)
    id_rank = np.argsort(np.argsort(ids, kind="stable"), kind="stable")
    order = np.lexsort(
        (
            id_rank,
            -keys.column("forks").to_numpy(),
            -keys.column("stars").to_numpy(),
            -keys.column("license_rank").to_numpy().astype(np.int64),
        )
    )
    place = np.empty(len(order), dtype=np.int64)
    place[order] = np.arange(len(order))
    return place
