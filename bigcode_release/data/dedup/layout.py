"""Where the dedup stages keep their state (plain paths, importable without the pipeline)."""

from __future__ import annotations

from pathlib import Path


class DedupLayout:
    """Where the dedup stages keep their state, under `work/dedup/`."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.keys = self.root / "keys"
        self.signatures = self.root / "signatures"
        self.buckets = self.root / "buckets"
        self.pairs = self.root / "pairs"
        self.remove = self.root / "remove"
        self.optout_queries = self.root / "optout-queries"
        self.report = self.root / "report.json"

    def keys_file(self, rank: int) -> Path:
        return self.keys / f"{rank:05d}.parquet"

    def signatures_file(self, rank: int) -> Path:
        return self.signatures / f"{rank:05d}.npy"

    def remove_file(self, rank: int) -> Path:
        return self.remove / f"{rank:05d}.parquet"
