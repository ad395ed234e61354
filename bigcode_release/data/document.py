"""The document a source yields and the dataset's output schema (one place for both).

Every source puts the same metadata keys on a datatrove `Document`; the Parquet writer turns
them into the columns below, which is also what `datasets.load_dataset("parquet", ...)` and
the Hub's dataset viewer see.
"""

from __future__ import annotations

import pyarrow as pa
from datatrove.data import Document

OUTPUT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("content", pa.large_string()),
        pa.field("path", pa.string()),
        pa.field("repo_name", pa.string()),
        pa.field("owner", pa.string()),
        pa.field("licenses", pa.list_(pa.string())),
        pa.field("license_expression", pa.string()),
        pa.field("license_source", pa.string()),
        pa.field("language", pa.string()),
        pa.field("ext", pa.string()),
        pa.field("size", pa.int64()),
        pa.field("stars", pa.int64()),
        pa.field("forks", pa.int64()),
        # a vendored file: the project it comes from (`owner/name`) and its path there, when the source knows
        pa.field("origin_repo", pa.string()),
        pa.field("origin_path", pa.string()),
    ]
)

TEXT_FIELD = pa.field("text", pa.large_string())


def output_schema(with_text: bool) -> pa.Schema:
    """The dataset's columns; `text` (the training-formatted content) when formatting is on."""
    return OUTPUT_SCHEMA.append(TEXT_FIELD) if with_text else OUTPUT_SCHEMA


# metadata keys a source must set (stars/forks may be None)
SOURCE_KEYS = (
    "path",
    "repo_name",
    "owner",
    "licenses",
    "license_expression",
    "license_source",
    "language",
    "ext",
    "size",
    "stars",
    "forks",
)

# keys that explain why a file could not be read; never written to the dataset
DECODE_ERROR_KEY = "decode_error"
# the project a vendored file comes from (`owner/name`) and its path there, when the source knows
ORIGIN_KEY, ORIGIN_PATH_KEY = "origin_repo", "origin_path"


def make_document(text: str, **metadata) -> Document:
    """A Document with the source keys; its id is `<repo_name>/<path>`."""
    missing = [key for key in SOURCE_KEYS if key not in metadata]
    if missing:
        raise ValueError(f"document metadata is missing {missing}")
    return Document(text=text, id=f"{metadata['repo_name']}/{metadata['path']}", metadata=metadata)


def to_row(document: Document) -> dict:
    """The output row of a document (the dataset's columns, nothing else)."""
    meta = document.metadata
    row = {key: meta.get(key) for key in SOURCE_KEYS}
    row["licenses"] = list(row["licenses"] or [])
    row[ORIGIN_KEY], row[ORIGIN_PATH_KEY] = meta.get(ORIGIN_KEY), meta.get(ORIGIN_PATH_KEY)
    if "text" in meta:
        row["text"] = meta["text"]
    return {"id": document.id, "content": document.text, **row}
