"""Drop files holding a benchmark problem (the match itself is found in the filter stage,
where the words of every file are hashed once for near dedup and decontamination alike)."""

from __future__ import annotations

import json

import pyarrow.compute as pc
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.filters.base_filter import BaseFilter

from bigcode_release.data.dedup.steps import ROW_KEY, DedupLayout


class DecontaminationFilter(BaseFilter):
    """Drop files holding a benchmark problem (`contaminated`), found in stage 1; the ledger
    records the benchmark, problem id, field and kind of match."""

    name = "🧪 decontamination"

    def __init__(self, layout: DedupLayout, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.layout = layout
        self._matches: dict[int, str] = {}

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        path = self.layout.keys_file(rank)
        if path.is_file():
            table = pq.read_table(path, columns=["doc", "contamination"]).filter(pc.field("contamination").is_valid())
            self._matches = dict(zip(table.column("doc").to_pylist(), table.column("contamination").to_pylist()))
        yield from super().run(data, rank, world_size)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        match = self._matches.get(doc.metadata[ROW_KEY])
        if match is None:
            return True
        doc.metadata["contamination"] = json.loads(match)
        return False, "contaminated"
