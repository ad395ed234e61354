"""The PII step: replace emails, IP addresses, keys and passwords with placeholders, and keep
a ledger of how many of each kind every file had (never the values)."""

from __future__ import annotations

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers import JsonlWriter

from bigcode_release.pii import redact, scan_text
from bigcode_release.recipe import PIIConfig


def _ledger_row(_writer, document) -> dict:
    return {"id": document.id, "counts": document.metadata["pii_counts"]}


class PIIRedactor(PipelineStep):
    """Redact PII in place; stats: `replaced_<KIND>` (placeholders written) and
    `documents_with_<KIND>`; ledger `work/pii/<rank>.jsonl.gz` (id, counts per kind)."""

    name = "🕵️ PII redaction"
    type = "✂️ - FORMAT"

    def __init__(self, config: PIIConfig, ledger_dir: str):
        super().__init__()
        self.config = config
        self.ledger_dir = ledger_dir

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with JsonlWriter(self.ledger_dir, output_filename="${rank}.jsonl.gz", adapter=_ledger_row) as ledger:
            for doc in data:
                with self.track_time():
                    self.stat_update("total")
                    findings = scan_text(
                        doc.text,
                        emails=self.config.emails,
                        ip_addresses=self.config.ip_addresses,
                        secrets=self.config.secrets,
                    )
                    if findings:
                        doc.text, counts = redact(doc.text, findings)
                        doc.metadata["pii_counts"] = dict(counts)
                        ledger.write(doc, rank)
                        del doc.metadata["pii_counts"]
                        self.stat_update("documents_with_pii")
                        for kind, count in counts.items():
                            self.stat_update(f"replaced_{kind}", value=count)
                            self.stat_update(f"documents_with_{kind}")
                yield doc
