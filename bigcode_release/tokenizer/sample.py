"""Seeded samples of a dataset version's documents, by bytes, for tokenizer training and for
measuring fertility on documents the tokenizer has not seen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bigcode_release.errors import ReleaseDirectoryError


@dataclass(frozen=True)
class DocumentSample:
    """Texts and their languages, in sampled order."""

    texts: list[str]
    languages: list[str]

    @property
    def n_bytes(self) -> int:
        return sum(len(t.encode("utf-8")) for t in self.texts)


def text_column(dataset_dir: Path) -> str:
    """`text` (the training format) when the version has it, else the raw `content`."""
    names = pq.read_schema(_shards(dataset_dir)[0]).names
    return "text" if "text" in names else "content"


def _shards(dataset_dir: Path) -> list[Path]:
    shards = sorted((Path(dataset_dir) / "data").glob("*.parquet"))
    if not shards:
        raise ReleaseDirectoryError(f"{dataset_dir} has no data/*.parquet shards")
    return shards


def split_sample(
    dataset_dir: Path, budget_bytes: int, seed: int, heldout_bytes_per_language: int
) -> tuple[DocumentSample, DocumentSample]:
    """A seeded sample of about `budget_bytes` of text, and a held-out sample (documents outside
    the first) of up to `heldout_bytes_per_language` per language.

    Documents are drawn without replacement in a seeded permutation of the version's rows
    (shards in name order, rows in file order), so the same version and seed give the same sample.
    """
    column = text_column(dataset_dir)
    tables = [pq.read_table(path, columns=[column, "language"]) for path in _shards(dataset_dir)]
    sizes = np.concatenate(
        [pc.binary_length(pc.cast(t[column], "large_binary")).to_numpy(zero_copy_only=False) for t in tables]
    )
    languages = [lang for t in tables for lang in t["language"].to_pylist()]
    offsets = np.cumsum([0] + [t.num_rows for t in tables])
    order = np.random.default_rng(seed).permutation(len(sizes))
    taken = np.cumsum(sizes[order])
    n_train = int(np.searchsorted(taken, budget_bytes, side="left")) + 1
    n_train = min(n_train, len(order))

    def text(row: int) -> str:
        shard = int(np.searchsorted(offsets, row, side="right")) - 1
        return tables[shard][column][row - offsets[shard]].as_py()

    train_rows = order[:n_train]
    train = DocumentSample([text(r) for r in train_rows], [languages[r] for r in train_rows])
    per_language: dict[str, int] = {}
    heldout_rows = []
    for row in order[n_train:]:
        used = per_language.get(languages[row], 0)
        if used < heldout_bytes_per_language:
            per_language[languages[row]] = used + int(sizes[row])
            heldout_rows.append(row)
    heldout = DocumentSample([text(r) for r in heldout_rows], [languages[r] for r in heldout_rows])
    return train, heldout
