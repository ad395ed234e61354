"""The dedup steps, around datatrove's MinHash stages.

    stage 1  Fingerprints        (pass-through, in the filtering pipeline) keys for exact dedup,
                                 MinHash bucket files in datatrove's format, full signatures,
                                 and benchmark matches (one word-hashing pass serves both)
    stage 2  MinhashDedupBuckets (datatrove, unchanged) candidate pairs per band
    stage 3  DedupResolver       exact groups, then near-duplicate clusters of verified pairs;
                                 the best copy of each is kept (priority in `keys.py`)
    stage 4  DuplicateFilter     drops what stage 3 decided, one step per kind

Stage 3 replaces datatrove's `MinhashDedupCluster`, which keeps an arbitrary member of each
cluster and links any pair that shares a band; ours keeps the best copy and only links pairs
whose full signatures agree on at least `jaccard_threshold` of their positions.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.utils.hashing import HashConfig

from bigcode_release.data.dedup.keys import KeyRecorder, priority_order
from bigcode_release.data.dedup.layout import DedupLayout
from bigcode_release.data.dedup.optout_copies import OPTED_OUT_COPY, Copy, find_copies, load_queries
from bigcode_release.data.dedup.shingles import CodeWordTokenizer, ngram_hashes, shingle_hashes, word_hashes
from bigcode_release.data.dedup.signature import OnePermutationMinHash
from bigcode_release.decontamination import BenchmarkIndex, load_benchmark_texts
from bigcode_release.recipe import DecontaminationConfig, NearDedupConfig

ROW_KEY = "_row"  # a document's index in its stage-1 shard, set by the stage-4 reader
EXACT, NEAR = "exact_duplicate", "near_duplicate"
REMOVE_SCHEMA = pa.schema(
    [
        pa.field("doc", pa.uint32()),
        pa.field("reason", pa.string()),
        pa.field("duplicate_of", pa.string()),
        pa.field("cluster", pa.int64()),
        pa.field("request_id", pa.string()),
    ]
)


def minhash_config(near: NearDedupConfig) -> MinhashConfig:
    """datatrove's MinHash configuration for a recipe's near-dedup settings (32-bit values)."""
    return MinhashConfig(
        n_grams=near.n_grams,
        num_buckets=near.bands,
        hashes_per_bucket=near.rows_per_band,
        seed=near.seed,
        hash_config=HashConfig(precision=32),
    )


class Fingerprints(MinhashDedupSignature):
    """Stage 1, passing documents through: a keys row per document (content hash, priority
    fields, benchmark match) and, when near dedup is on, its MinHash signature in datatrove's
    bucket files."""

    name = "🎯 fingerprints: dedup keys, MinHash, benchmark n-grams"

    def __init__(
        self,
        layout: DedupLayout,
        allowlist: frozenset[str],
        near: NearDedupConfig | None,
        decontamination: DecontaminationConfig | None,
    ):
        config = minhash_config(near or NearDedupConfig())
        super().__init__(str(layout.buckets), config=config, language=CodeWordTokenizer(), skip_existing_sigs=True)
        self.layout = layout
        self.allowlist = allowlist
        self.near = near
        self.decontamination = decontamination

    def get_shingles(self, text: str) -> np.ndarray:
        return shingle_hashes(text, self.config.n_grams)

    def _benchmark_index(self) -> BenchmarkIndex | None:
        config = self.decontamination
        if config is None:
            return None
        return BenchmarkIndex(load_benchmark_texts(config), config.ngram_words, config.min_words, config.ngram_overlap)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        keys = KeyRecorder(self.allowlist)
        benchmarks = self._benchmark_index()
        minhash = OnePermutationMinHash(self.num_hashes, self.config.seed) if self.near else None
        buckets = (
            [
                self.output_folder.open(f"bucket_{b:03d}/{rank:05d}.minhash.sig", mode="wb")
                for b in range(self.config.num_buckets)
            ]
            if self.near
            else []
        )
        signatures = []
        record = struct.Struct(f"<{self.config.hashes_per_bucket}II")
        for index, doc in enumerate(data):
            with self.track_time():
                words = word_hashes(doc.text) if self.near or benchmarks else None
                shingles = ngram_hashes(words, self.config.n_grams) if self.near else np.empty(0, dtype=np.uint64)
                found = benchmarks.find(doc.text, words) if benchmarks else None
                if found:
                    self.stat_update("benchmark_matches")
                keys.add(index, doc, shingles.size, json.dumps(found.to_dict()) if found else None)
                if shingles.size:
                    signature = minhash.signature(shingles)
                    signatures.append(signature)
                    rows = signature.reshape(self.config.num_buckets, self.config.hashes_per_bucket).tolist()
                    for bucket, values in zip(buckets, rows):
                        bucket.write(record.pack(*values, index))
                    self.stat_update("signatures")
                elif self.near:
                    signatures.append(np.full(self.num_hashes, 0xFFFFFFFF, dtype=np.uint32))
                    self.stat_update("too_short_for_minhash")
            yield doc
        with self.track_time():
            self.layout.keys.mkdir(parents=True, exist_ok=True)
            pq.write_table(keys.table(), self.layout.keys_file(rank))
            if self.near:
                for bucket in buckets:
                    bucket.close()
                self.layout.signatures.mkdir(parents=True, exist_ok=True)
                stacked = np.stack(signatures) if signatures else np.empty((0, self.num_hashes), dtype=np.uint32)
                np.save(self.layout.signatures_file(rank), stacked)
                # datatrove's own sort-and-verify of the bucket files (it finds them written and skips writing)
                super().run(iter(()), rank, world_size)


class _UnionFind:
    def __init__(self, size: int):
        self.parent = np.arange(size)

    def find(self, node: int) -> int:
        parent = self.parent
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:
            parent[node], node = root, parent[node]
        return root

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def keep_best_copies(members: np.ndarray, signatures: np.ndarray, threshold: float) -> dict[int, int]:
    """Within one group of candidates (sorted best first): each member is removed as a duplicate
    of the best earlier kept member its signature agrees with on at least `threshold` of the
    positions, else kept. Returns removed member -> kept member; every removal is checked
    directly against the copy kept, never only through a chain of similar files."""
    kept: list[int] = []
    removed: dict[int, int] = {}
    for member in members.tolist():
        if kept:
            agreement = (signatures[kept] == signatures[member]).mean(axis=1)
            similar = np.flatnonzero(agreement >= threshold)
            if similar.size:
                removed[member] = kept[int(similar[0])]
                continue
        kept.append(member)
    return removed


def _verified(pairs: np.ndarray, signatures: np.ndarray, threshold: float) -> np.ndarray:
    """The pairs whose signatures agree on at least `threshold` of their positions."""
    agreement = np.empty(len(pairs))
    for start in range(0, len(pairs), 65536):
        chunk = pairs[start : start + 65536]
        agreement[start : start + len(chunk)] = (signatures[chunk[:, 0]] == signatures[chunk[:, 1]]).mean(axis=1)
    return pairs[agreement >= threshold]


class DedupResolver(PipelineStep):
    """Stage 3 (one task): decide which documents are opted-out copies, exact or near duplicates, and of what.

    Opted-out copies first (`optout_copies.find_copies`: exact or near copies of the opted-out
    files the opt-out filter recorded); they take no part in what follows.

    Exact: documents with the same normalised content hash; the first by priority is kept.
    Near: candidate pairs from stage 2, mapped onto the copies exact dedup keeps, kept when their
    signatures agree on at least the threshold, joined into groups; within a group, files are
    taken best first and each is removed only if it agrees with a copy already kept
    (`keep_best_copies`). Writes one removal table per stage-1 task and `report.json`.
    """

    type = "🫂 - DEDUP"
    name = "🧮 resolve duplicates"

    def __init__(self, layout: DedupLayout, tasks: int, exact: bool, near: NearDedupConfig | None):
        super().__init__()
        self.layout = layout
        self.tasks = tasks
        self.exact = exact
        self.near = near

    def _load_keys(self) -> tuple[pa.Table, np.ndarray]:
        """Every task's keys in one table, and where each task's rows start in it."""
        tables = [pq.read_table(self.layout.keys_file(rank)) for rank in range(self.tasks)]
        offsets = np.cumsum([0] + [table.num_rows for table in tables])
        return pa.concat_tables(tables), offsets

    def _exact(self, keys: pa.Table, place: np.ndarray) -> np.ndarray:
        """For each row, the row whose copy is kept (itself when it is not an exact duplicate)."""
        keeper = np.arange(keys.num_rows)
        if not self.exact:
            return keeper
        high = keys.column("hash_hi").to_numpy()
        low = keys.column("hash_lo").to_numpy()
        order = np.lexsort((place, low, high))
        new_group = np.ones(order.size, dtype=bool)
        new_group[1:] = (high[order][1:] != high[order][:-1]) | (low[order][1:] != low[order][:-1])
        group_first = order[np.maximum.accumulate(np.where(new_group, np.arange(order.size), 0))]
        keeper[order] = group_first
        return keeper

    def _pairs(self, offsets: np.ndarray) -> np.ndarray:
        files = sorted(self.layout.pairs.glob("*.dups"))
        if not files:
            return np.empty((0, 2), dtype=np.int64)
        raw = np.concatenate([np.fromfile(f, dtype="<u4").reshape(-1, 4) for f in files]).astype(np.int64)
        return np.stack([offsets[raw[:, 0]] + raw[:, 1], offsets[raw[:, 2]] + raw[:, 3]], axis=1)

    def _signatures(self) -> np.ndarray:
        """Every document's full signature, in keys-table order."""
        return np.concatenate([np.load(self.layout.signatures_file(rank)) for rank in range(self.tasks)])

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> None:
        with self.track_time():
            keys, offsets = self._load_keys()
            report = {
                "documents": 0,
                "exact_groups": 0,
                "exact_removed": 0,
                "near_candidate_pairs": 0,
                "near_verified_pairs": 0,
                "near_clusters": 0,
                "near_clustered_documents": 0,
                "near_removed": 0,
            }
            reason = np.full(keys.num_rows, "", dtype=object)
            kept_as = np.arange(len(reason))
            cluster = np.full(len(reason), -1, dtype=np.int64)
            copies: dict[int, Copy] = {}
            if keys.num_rows:
                signatures = self._signatures() if self.near else None
                queries = load_queries(self.layout.optout_queries)
                if queries is not None:
                    copies = find_copies(keys, signatures, queries, self.near)
                report["optout_queries"] = queries.num_rows if queries is not None else 0
                place = priority_order(keys)
                keeper = self._exact(keys, place)
                for row in np.flatnonzero(np.isin(keeper, list(copies))).tolist():
                    copies.setdefault(row, copies[int(keeper[row])])  # same content as a copy: a copy too
                is_copy = np.zeros(keys.num_rows, dtype=bool)
                is_copy[list(copies)] = True
                reason[is_copy] = OPTED_OUT_COPY
                report["optout_copies"] = int(is_copy.sum())
                exact_removed = (keeper != np.arange(keys.num_rows)) & ~is_copy
                reason[exact_removed] = EXACT
                kept_as[:] = keeper
                report["exact_removed"] = int(exact_removed.sum())
                report["exact_groups"] = int(np.unique(keeper[exact_removed]).size)
                if self.near:
                    pairs = keeper[self._pairs(offsets)]
                    pairs = pairs[(pairs[:, 0] != pairs[:, 1]) & ~is_copy[pairs].any(axis=1)]
                    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
                    report["near_candidate_pairs"] = len(pairs)
                    pairs = _verified(pairs, signatures, self.near.jaccard_threshold)
                    report["near_verified_pairs"] = len(pairs)
                    components = _UnionFind(keys.num_rows)
                    for a, b in pairs.tolist():
                        components.union(a, b)
                    members = np.unique(pairs)
                    roots = np.array([components.find(m) for m in members.tolist()], dtype=np.int64)
                    order = np.lexsort((place[members], roots))  # by component, best copy first
                    starts = np.flatnonzero(np.diff(roots[order], prepend=-1))
                    for cluster_id, group in enumerate(np.split(members[order], starts[1:])):
                        cluster[group] = cluster_id
                        for duplicate, original in keep_best_copies(
                            group, signatures, self.near.jaccard_threshold
                        ).items():
                            reason[duplicate] = NEAR
                            kept_as[duplicate] = original
                    report["near_clusters"] = int(starts.size)
                    report["near_clustered_documents"] = int(members.size)
                    report["near_removed"] = int(np.count_nonzero(reason == NEAR))
                report["documents"] = keys.num_rows
                self._write_removals(keys, offsets, reason, kept_as, cluster, copies)
            for key, value in report.items():
                self.stat_update(key, value=value)
            self.layout.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    def _write_removals(self, keys, offsets, reason, kept_as, cluster, copies: dict[int, Copy]) -> None:
        ids = keys.column("id").to_numpy(zero_copy_only=False)
        docs = keys.column("doc").to_numpy()
        self.layout.remove.mkdir(parents=True, exist_ok=True)
        for rank in range(self.tasks):
            rows = np.arange(offsets[rank], offsets[rank + 1])
            rows = rows[reason[rows] != ""]
            table = pa.table(
                {
                    "doc": docs[rows],
                    "reason": reason[rows].tolist(),
                    "duplicate_of": [copies[r].original if r in copies else ids[kept_as[r]] for r in rows.tolist()],
                    "cluster": cluster[rows],
                    "request_id": [copies[r].request_id if r in copies else None for r in rows.tolist()],
                },
                schema=REMOVE_SCHEMA,
            )
            pq.write_table(table, self.layout.remove_file(rank))


class RowDecisionFilter(BaseFilter):
    """Drops the documents an earlier stage decided on, by their hand-off row (`_row`): the
    decisions come from a per-task table (`decisions`), the value decided is kept on the dropped
    document under `metadata_key` for the drop ledger."""

    reason: str
    metadata_key: str

    def __init__(self, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self._decisions: dict = {}

    def decisions(self, rank: int) -> dict:
        """Row number -> the value to record, for the rows this task drops."""
        raise NotImplementedError

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._decisions = self.decisions(rank)
        yield from super().run(data, rank, world_size)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        value = self._decisions.get(doc.metadata[ROW_KEY])
        if value is None:
            return True
        doc.metadata[self.metadata_key] = value
        return False, self.reason


class DuplicateFilter(RowDecisionFilter):
    """Stage 4: drop the documents stage 3 marked with `reason` (`exact_duplicate` or
    `near_duplicate`), recording which copy was kept (`duplicate_of`)."""

    metadata_key = "duplicate_of"

    def __init__(self, layout: DedupLayout, reason: str, exclusion_writer=None):
        self.name = "💥 exact dedup" if reason == EXACT else "🫂 near dedup"
        super().__init__(exclusion_writer)
        self.layout = layout
        self.reason = reason

    def decisions(self, rank: int) -> dict[int, str]:
        path = self.layout.remove_file(rank)
        if not path.is_file():
            return {}
        table = pq.read_table(path).filter(pc.field("reason") == self.reason)
        return dict(zip(table.column("doc").to_pylist(), table.column("duplicate_of").to_pylist()))


class OptOutCopyFilter(DuplicateFilter):
    """Stage 4: drop the copies of opted-out files stage 3 found (`opted_out_copy`), recording the
    original's `repo/path` (`duplicate_of`) and the request that removed it (`optout_request_id`)."""

    def __init__(self, layout: DedupLayout, exclusion_writer=None):
        super().__init__(layout, OPTED_OUT_COPY, exclusion_writer)
        self.name = "🙅 opted-out copies"

    def decisions(self, rank: int) -> dict[int, tuple[str, str]]:
        path = self.layout.remove_file(rank)
        if not path.is_file():
            return {}
        table = pq.read_table(path).filter(pc.field("reason") == self.reason)
        return {
            doc: (original, request)
            for doc, original, request in zip(
                table.column("doc").to_pylist(),
                table.column("duplicate_of").to_pylist(),
                table.column("request_id").to_pylist(),
            )
        }

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        decided = self._decisions.get(doc.metadata[ROW_KEY])
        if decided is None:
            return True
        doc.metadata["duplicate_of"], doc.metadata["optout_request_id"] = decided
        return False, self.reason
