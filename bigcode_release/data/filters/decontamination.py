"""Drop files holding a benchmark problem (the match itself is found in the filter stage,
where the words of every file are hashed once for near dedup and decontamination alike)."""

from __future__ import annotations

import json

import pyarrow.compute as pc
import pyarrow.parquet as pq

from bigcode_release.data.dedup.layout import DedupLayout
from bigcode_release.data.dedup.steps import RowDecisionFilter


class DecontaminationFilter(RowDecisionFilter):
    """Drop files holding a benchmark problem (`contaminated`), found in stage 1; the ledger
    records the benchmark, problem id, field and kind of match."""

    name = "🧪 decontamination"
    reason = "contaminated"
    metadata_key = "contamination"

    def __init__(self, layout: DedupLayout, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.layout = layout

    def decisions(self, rank: int) -> dict[int, dict]:
        path = self.layout.keys_file(rank)
        if not path.is_file():
            return {}
        table = pq.read_table(path, columns=["doc", "contamination"]).filter(pc.field("contamination").is_valid())
        return {
            row: json.loads(match)
            for row, match in zip(table.column("doc").to_pylist(), table.column("contamination").to_pylist())
        }
