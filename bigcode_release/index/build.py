"""`bigcode-release index build`: one pass over a dataset version's shards feeds the BM25 index
and the membership shards' text; the membership shards are then indexed one process each
(`shards.py`), each also hashing its documents' portrait chunks, the portrait is set from those
hashes shard by shard, and a manifest records sizes, hashes and the dataset manifest they were built
from. Only the version's own documents are read, so opted-out and removed
files are absent by construction."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from bigcode_release.errors import DataIndexError, ReleaseDirectoryError
from bigcode_release.index import bm25, portrait
from bigcode_release.index.documents import iter_documents
from bigcode_release.index.shards import BACKENDS, DEFAULT_BACKEND, MAX_SHARD_BYTES, ShardWriter
from bigcode_release.layout import ReleaseLayout
from bigcode_release.manifest import describe_outputs, read_manifest, tool_versions, write_manifest

# what the index holds changes with it: an index of an older format is rebuilt (2: the BM25 index has
# the joined-identifiers field, documents.parquet the origin of vendored copies; 3: membership shards
# with their own manifests, and a backend; the portrait's own Bloom filter format; 4: the BM25 index
# stores no text, the manifest records the shard builds run at once and the portrait's chunks per shard)
INDEX_FORMAT = 4


@dataclass
class IndexBuildResult:
    folder: str
    dataset_version: str
    backend: str
    shards: int
    documents: int
    text_bytes: int
    sizes: dict[str, int]
    seconds: float
    reused: bool

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build_indexes(
    release: str | Path,
    version: str | None = None,
    shards: int = 1,
    backend: str = DEFAULT_BACKEND,
    max_shard_bytes: int = MAX_SHARD_BYTES,
    show_progress: bool = True,
    processes: int | None = None,
) -> IndexBuildResult:
    """Build (or find up to date) the three indexes of a dataset version under `<release>/index/<v>/`:
    BM25 search, the membership index in `shards` shards with `backend` (`fm` or `suffix-array`),
    and the portrait. Shards are indexed `processes` at a time (default: as many as there are cores
    and as fit in the memory available, `shards.build_processes`).

    Raises:
        DataIndexError: no such dataset version, or a bad `shards` / `backend` / `processes`.
    """
    started = time.monotonic()
    if backend not in BACKENDS:
        raise DataIndexError(f"unknown membership backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if shards < 1:
        raise DataIndexError(f"--shards must be at least 1, got {shards}")
    if processes is not None and processes < 1:
        raise DataIndexError(f"--processes must be at least 1, got {processes}")
    layout = ReleaseLayout.at(release)
    version_dir = layout.dataset_dir(version)
    dataset = read_manifest(version_dir)
    if dataset is None:
        raise DataIndexError(f"{version_dir}: no dataset manifest; run `bigcode-release dataset build` first")
    folder = layout.index_dir(dataset["version"])
    existing = read_manifest(folder)
    inputs = {
        "dataset_version": dataset["version"],
        "dataset_manifest_hash": dataset["manifest_hash"],
        "index_format": INDEX_FORMAT,
        "membership": {"backend": backend, "shards": shards},
    }
    if existing and existing.get("inputs") == inputs:
        return IndexBuildResult(
            str(folder),
            dataset["version"],
            backend,
            existing["counts"]["membership_shards"],
            existing["counts"]["documents"],
            existing["counts"]["text_bytes"],
            existing["sizes"],
            0.0,
            True,
        )
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    stats = json.loads((version_dir / "stats.json").read_text(encoding="utf-8"))["totals"]
    membership = ShardWriter(folder / "membership", stats["kept_bytes"], shards, max_shard_bytes)
    rows: dict[str, list] = {key: [] for key in ("repo", "path", "license", "language", "origin_repo", "origin_path")}
    text_bytes = 0
    bar = tqdm(total=stats["kept_files"], unit="doc", desc="indexing", disable=not show_progress, dynamic_ncols=True)

    def feed(document) -> None:
        nonlocal text_bytes
        membership.add(document.number, document.content)
        for key in rows:
            rows[key].append(getattr(document, key))
        text_bytes += len(document.content.encode("utf-8"))
        bar.update(1)

    count = bm25.build(iter_documents(version_dir), folder / "bm25", on_document=feed)
    bar.close()
    shard_manifests = membership.finish(backend, processes, portrait_path=folder / "portrait.bloom")
    pq.write_table(
        pa.table({key: pa.array(values, pa.string()) for key, values in rows.items()}), folder / "documents.parquet"
    )
    sizes = {
        "bm25": _folder_bytes(folder / "bm25"),
        backend: _folder_bytes(folder / "membership"),
        "portrait": (folder / "portrait.bloom").stat().st_size,
        "documents": (folder / "documents.parquet").stat().st_size,
    }
    seconds = round(time.monotonic() - started, 1)
    files = [folder / "portrait.bloom", folder / "documents.parquet", *sorted((folder / "membership").rglob("*.*"))]
    write_manifest(
        folder,
        {
            "kind": "data-index",
            "kinds": ["bm25", backend, "portrait"],
            "dataset_version": dataset["version"],
            "dataset_manifest_hash": dataset["manifest_hash"],
            "inputs": inputs,
            "counts": {
                "documents": count,
                "text_bytes": text_bytes,
                "portrait_chunks": sum(m["portrait_chunks"] for m in shard_manifests),
                "portrait_distinct_chunks": sum(m["portrait_distinct_chunks"] for m in shard_manifests),  # per shard
                "membership_shards": len(shard_manifests),
            },
            "membership": {
                "backend": backend,
                "build_seconds": sum(m["seconds"] for m in shard_manifests),
                "peak_rss_bytes": max((m["peak_rss_bytes"] or 0 for m in shard_manifests), default=0),
                "processes": membership.processes,
                "shards": [
                    {k: m[k] for k in ("first_document", "last_document", "documents", "text_bytes", "seconds")}
                    for m in shard_manifests
                ],
            },
            "parameters": {
                "max_shard_bytes": max_shard_bytes,
                "portrait_width": portrait.WIDTH,
                "portrait_false_positive_rate": portrait.FALSE_POSITIVE_RATE,
                "bm25_tokenizer": bm25.CODE_TOKEN,
            },
            "sizes": sizes,
            "outputs": describe_outputs(folder, files),
            "tools": tool_versions("tantivy", "pydivsufsort", "numba"),
        },
        run={"seconds": seconds},
    )
    return IndexBuildResult(
        str(folder), dataset["version"], backend, len(shard_manifests), count, text_bytes, sizes, seconds, False
    )


def current_index(release: str | Path, version: str | None = None) -> tuple[Path, str]:
    """The index folder of `version` (default: the newest indexed version) and that version.

    Raises:
        DataIndexError: there is no such index.
    """
    try:
        folder = ReleaseLayout.at(release).current_index(version)
    except ReleaseDirectoryError as exc:
        raise DataIndexError(str(exc)) from None
    return folder, folder.name
