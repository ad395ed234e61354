"""Reads back the filter stage's hand-off shards, one per task, in the order they were written."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from bigcode_release.data.dedup.steps import ROW_KEY
from bigcode_release.data.document import make_document


class HandoffReader(PipelineStep):
    """Yield task `rank`'s hand-off documents, each with its row number (`_row`): the index the
    dedup stages use. A task whose filter stage kept nothing has no shard and yields nothing."""

    name = "📥 hand-off shards"
    type = "📖 - READER"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        path = Path(self.folder) / f"{rank:05d}.parquet"
        if not path.is_file():
            return
        row = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
            for record in batch.to_pylist():
                record.pop("id")
                document = make_document(record.pop("content"), **record)
                document.metadata[ROW_KEY] = row
                row += 1
                self.stat_update("documents")
                yield document
