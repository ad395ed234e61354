"""Export approved opt-outs as the list the dataset build consumes, ready to publish as a dataset."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import DatasetCard, DatasetCardData

from bigcode_release.optout.export_format import FIELDS, OptOutEntry, write_optout_list
from bigcode_release.optout.registry import OptOutRegistry

LIST_NAME = "optout-list"

_CARD = """
# Opt-out list

Accounts and repositories whose owners asked to be removed from the dataset, exported from the
opt-out registry. Every dataset version built after a request was approved leaves them out.

- approved requests: **{requests}** ({accounts} whole accounts, {repos} single repositories)
- files: `{name}.jsonl` and `{name}.parquet`, columns `owner`, `repo` (empty for a whole account),
  `request_id`; matching is case-insensitive

Use it in a dataset recipe:

```yaml
optout:
  list: {name}.jsonl
```

To ask for removal, use the "Am I in The Stack?" Space or `bigcode-release optout submit`.
"""


def exported_list(out_dir: str | Path) -> Path:
    """The JSONL list `export_optouts` writes into `out_dir` (what a dataset recipe's `optout.list` names)."""
    return Path(out_dir) / f"{LIST_NAME}.jsonl"


@dataclass
class ExportResult:
    requests: int
    entries: int
    jsonl: Path
    parquet: Path
    card: Path


def export_optouts(registry: OptOutRegistry, out_dir: str | Path) -> ExportResult:
    """Write the approved (and applied) requests as JSONL, Parquet and a dataset card."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    honoured = registry.requests(status="approved") + registry.requests(status="applied")
    entries: list[OptOutEntry] = [entry for request in honoured for entry in request.entries()]
    jsonl = write_optout_list(entries, exported_list(out_dir))
    parquet = out_dir / f"{LIST_NAME}.parquet"
    columns = {name: [getattr(e, name) for e in entries] for name in FIELDS}
    pq.write_table(pa.table(columns, schema=pa.schema([(name, pa.string()) for name in FIELDS])), parquet)
    accounts = sum(1 for e in entries if e.repo is None)
    card = DatasetCard.from_template(
        DatasetCardData(pretty_name="Opt-out list", license="other", tags=["opt-out"]),
        template_str="---\n{{ card_data }}\n---\n"
        + _CARD.format(requests=len(honoured), accounts=accounts, repos=len(entries) - accounts, name=LIST_NAME),
    )
    card.save(out_dir / "README.md")
    return ExportResult(len(honoured), len(entries), jsonl, parquet, out_dir / "README.md")
