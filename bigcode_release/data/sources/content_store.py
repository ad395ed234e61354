"""File contents kept apart from the rows that describe them, looked up by blob id.

The Stack v2's Parquet rows carry no contents: each file sits in Software Heritage's archive under
its `blob_id` (gzip-compressed, e.g. `s3://softwareheritage/content/<blob_id>`), in the encoding
the row's `src_encoding` names. A store is any folder datatrove can open (local, `s3://`, `hf://`):
a local folder of blobs in tests, the remote archive by configuration.
"""

from __future__ import annotations

import gzip

from datatrove.io import get_datafolder

GZIP_MAGIC = b"\x1f\x8b"


class BlobNotFound(LookupError):
    """The store holds no blob under this id."""


class ContentStore:
    """Read blobs by id from a folder; gzip-compressed blobs are decompressed."""

    def __init__(self, location: str):
        self.location = location
        self.folder = get_datafolder(location)

    def read_bytes(self, blob_id: str) -> bytes:
        """The blob's bytes, decompressed when it is gzip."""
        try:
            with self.folder.open(blob_id, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError as exc:
            raise BlobNotFound(f"{self.location}: no blob {blob_id}") from exc
        return gzip.decompress(raw) if raw[:2] == GZIP_MAGIC else raw

    def read_text(self, blob_id: str, encoding: str | None) -> str:
        """The blob decoded with `encoding` (UTF-8 when the row names none); raises
        `UnicodeDecodeError` or `LookupError` (an unknown encoding) when it cannot be."""
        return self.read_bytes(blob_id).decode(encoding or "utf-8")
