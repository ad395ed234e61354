"""Writers: the dataset's Parquet shards, and the ledger of dropped files (no content)."""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

from bigcode_release.data.document import output_schema, to_row

LEDGER_KEYS = (
    "repo_name",
    "owner",
    "path",
    "language",
    "license_expression",
    "license_source",
    "size",
    "optout_request_id",
    "duplicate_of",
    "contamination",
)


def _row_adapter(_writer, document: Document) -> dict:
    return to_row(document)


def _ledger_adapter(_writer, document: Document) -> dict:
    row = {key: document.metadata.get(key) for key in LEDGER_KEYS}
    row["reason"] = document.metadata.get("filter_reason")
    return row


class DatasetParquetWriter(ParquetWriter):
    """The dataset's shards: `train-<rank>.parquet` with the fixed output schema."""

    name = "📒 dataset shards"

    def __init__(
        self,
        output_folder: str,
        compression: str | None = "zstd",
        output_filename: str = "train-${rank}.parquet",
        with_text: bool = False,
    ):
        super().__init__(
            output_folder,
            output_filename=output_filename,
            compression=compression,
            adapter=_row_adapter,
            schema=output_schema(with_text),
            max_file_size=-1,
        )


class DropLedgerWriter(JsonlWriter):
    """Exclusion writer recording who was dropped and why (`reason`), never the content."""

    name = "🧾 drop ledger"

    def __init__(self, output_folder: str):
        super().__init__(output_folder, output_filename="${rank}.jsonl.gz", compression="gzip", adapter=_ledger_adapter)
