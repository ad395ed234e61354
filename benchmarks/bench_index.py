"""The data indexes on a built dataset version, in one run: build time and size on disk per dataset
byte of each index; the membership index's two backends side by side (the compact FM-index, one shard
and four, against the suffix arrays: bytes per byte, build seconds, peak RSS, p50/p99 of spans, and
whether every answer is the same); p50/p99 latency over 1,000 snippets (500 verbatim, 100-1,000 characters, and 500
perturbed copies with one character changed about every 200) for search top-10, membership spans
with sources, and the portrait's yes/no; how often attribution names the true source file of a
perturbed snippet; against a pure-Python Data Portraits baseline (a set of 50-character chunk hashes).
The portrait's false positives are measured on text that is not in the data: code written by this
benchmark (random identifiers and numbers) and files the build held back (dropped for their license):
per window, the share the Bloom filter says present that the exact chunk set does not hold (next to
the configured rate), and per text, "in the data" answers where the suffix arrays find no verbatim
span of 100 bytes.

    .venv/bin/python benchmarks/bench_index.py [--release release] [--rebuild] [--queries 1000]

Latency is measured as a server answers: its index files read once at start (`index/pages.py`); each
membership backend's p99 is also measured cold (the page cache dropped first, where this machine
allows it), the cause of the tails the first version of this benchmark printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np
import xxhash

from bigcode_release.index import bm25, portrait
from bigcode_release.index.attribution import MembershipIndex
from bigcode_release.index.build import build_indexes
from bigcode_release.index.documents import iter_documents
from bigcode_release.index.pages import read_into_page_cache
from bigcode_release.index.shards import ShardedIndex, ShardWriter
from bigcode_release.layout import ReleaseLayout


def percentiles(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def perturb(text: str, rng: random.Random) -> str:
    chars = list(text)
    for position in range(rng.randrange(0, 200), len(chars), 200):
        if chars[position] not in "\n":
            chars[position] = "§" if chars[position] != "§" else "¤"
    return "".join(chars)


def snippets(documents, count: int, rng: random.Random) -> list[tuple[str, int, bool]]:
    """(text, source document number, perturbed?)"""
    long_enough = [d for d in documents if len(d.content) >= 1200]
    out = []
    for index in range(count):
        document = rng.choice(long_enough)
        length = rng.randrange(100, 1001)
        start = rng.randrange(0, len(document.content) - length)
        text = document.content[start : start + length]
        perturbed = index >= count // 2
        out.append((perturb(text, rng) if perturbed else text, document.number, perturbed))
    return out


class ChunkSetPortrait:
    """The baseline: Data Portraits' 50-50 chunks as a Python set of 64-bit hashes."""

    def __init__(self, documents):
        self.hashes = {xxhash.xxh3_64_intdigest(c) for d in documents for c in portrait.chunks(d.content)}

    def member(self, text: str) -> bool:
        normal = portrait.normalise(text)
        hits = [xxhash.xxh3_64_intdigest(normal[i : i + 50]) in self.hashes for i in range(max(len(normal) - 49, 0))]
        return any(hits[i] and i + 50 < len(hits) and hits[i + 50] for i in range(len(hits)))


def written_code(rng: random.Random, count: int) -> list[str]:
    """Code nobody wrote before this benchmark: functions with random names, numbers and strings."""
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "zeta", "rho"]
    texts = []
    for _ in range(count):
        name = "_".join(rng.sample(words, 3)) + f"_{rng.randrange(10**6)}"
        lines = [f"def {name}(values, limit={rng.randrange(1, 999)}):"]
        for _ in range(rng.randrange(6, 20)):
            variable = f"{rng.choice(words)}_{rng.randrange(10**4)}"
            lines.append(f"    {variable} = [v * {rng.randrange(2, 97)} % {rng.randrange(101, 9973)} for v in values]")
            lines.append(f"    if len({variable}) > limit: return '{rng.choice(words)}-{rng.randrange(10**5)}'")
        texts.append("\n".join(lines) + "\n")
    return texts


def held_back_files(version_dir: Path, count: int, rng: random.Random) -> list[str]:
    """Text of files the build dropped for their license (they are on disk, not in the data)."""
    import gzip

    plan = json.loads((version_dir / "work" / "plan.json").read_text())
    where = {(r["repo_name"], f["path"]): f["abspath"] for r in plan["repos"] for f in r["files"]}
    dropped = []
    for ledger in sorted((version_dir / "work" / "dropped" / "license").glob("*.jsonl.gz")):
        for line in gzip.open(ledger, "rt", encoding="utf-8"):
            row = json.loads(line)
            dropped.append(where.get((row["repo_name"], row["path"])))
    texts = []
    for path in rng.sample([p for p in dropped if p], min(count, len(dropped))):
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        if len(text) >= 200:
            texts.append(text[:3000])
    return texts


def portrait_false_positives(folder: Path, index: MembershipIndex, baseline, texts: list[str]) -> dict:
    """Per window and per text, how often the portrait says yes to text that is not in the data."""
    absent_windows = false_windows = absent_texts = false_texts = 0
    for text in texts:
        normal = portrait.normalise(text)
        said_present = portrait.contains(folder / "portrait.bloom", normal)
        for i in range(max(len(normal) - portrait.WIDTH + 1, 0)):
            window = normal[i : i + portrait.WIDTH]
            if xxhash.xxh3_64_intdigest(window) not in baseline.hashes:  # exactly not a chunk of the data
                absent_windows += 1
                false_windows += bool(said_present[i])
        if not index.attribute(text, min_bytes=100).spans:  # no verbatim span of 100 bytes: not in the data
            absent_texts += 1
            false_texts += portrait.query(folder / "portrait.bloom", text).member
    return {
        "windows_not_in_data": absent_windows,
        "window_false_positive_rate": round(false_windows / max(absent_windows, 1), 5),
        "configured_rate": portrait.FALSE_POSITIVE_RATE,
        "texts_not_in_data": absent_texts,
        "text_false_yes": false_texts,
    }


def build_membership(folder: Path, documents, backend: str, shards: int) -> dict:
    """One membership index built on its own: wall seconds, peak RSS of its shard processes, bytes."""
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    writer = ShardWriter(folder, sum(len(d.content.encode("utf-8")) + 1 for d in documents), shards)
    for document in documents:
        writer.add(document.number, document.content)
    manifests = writer.finish(backend)
    return {
        "build_seconds": round(time.perf_counter() - started, 1),
        "shard_seconds": round(sum(m["seconds"] for m in manifests), 1),
        "peak_rss_mib": round(max(m["peak_rss_bytes"] for m in manifests) / 2**20),
        "bytes": sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()),
    }


def answers(index: MembershipIndex, queries) -> tuple[list, list[float], list[float]]:
    """Every query's spans (offsets, occurrences, files, first sources) and ms per query and per kB."""
    out, ms, ms_per_kb = [], [], []
    for text, _source, _perturbed in queries:
        started = time.perf_counter()
        result = index.attribute(text, max_sources=20)
        elapsed = (time.perf_counter() - started) * 1000
        ms.append(elapsed)
        ms_per_kb.append(elapsed * 1000 / max(len(text.encode("utf-8")), 1))
        out.append(
            [(s.start, s.end, s.occurrences, s.documents, [(x.repo, x.path) for x in s.sources]) for s in result.spans]
        )
    return out, ms, ms_per_kb


def drop_page_cache() -> bool:
    """Empty the operating system's page cache (root on Linux); whether it could."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
    except OSError:
        return False
    return True


def compare_backends(folder: Path, version: str, documents, queries, work: Path) -> dict:
    """The FM-index (1 and 4 shards) against the suffix arrays on the same queries, cold then warm."""
    figures, reference = {}, None
    index = MembershipIndex(folder, version)
    text_bytes = sum(len(d.content.encode("utf-8")) for d in documents)
    for name, backend, shards in (("suffix-array", "suffix-array", 1), ("fm", "fm", 1), ("fm-4-shards", "fm", 4)):
        built = build_membership(work / name, documents, backend, shards)
        dropped = drop_page_cache()
        index.suffix = ShardedIndex(work / name)
        cold = answers(index, queries)
        read_into_page_cache(work / name)
        found, ms, ms_per_kb = answers(index, queries)
        reference = found if reference is None else reference
        figures[name] = {
            "bytes_per_byte": round(built["bytes"] / text_bytes, 3),
            "build_seconds": built["build_seconds"],
            "shard_cpu_seconds": built["shard_seconds"],
            "peak_rss_mib": built["peak_rss_mib"],
            "spans_ms_p50_p99": [round(v, 2) for v in percentiles(ms)],
            "spans_ms_per_kb_p50_p99": [round(v, 2) for v in percentiles(ms_per_kb)],
            "cold_spans_ms_per_kb_p99": round(percentiles(cold[2])[1], 2) if dropped else None,
            "same_answers_as_suffix_array": f"{sum(a == b for a, b in zip(found, reference))}/{len(queries)}",
        }
        print(f"  membership {name}: {figures[name]}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return figures


def search_words(text: str) -> str:
    """What a search for a snippet types: its first 12 words."""
    return " ".join(text.split()[:12])


def timed_search(folder: Path, text: str) -> float:
    """Milliseconds of a top-10 search for the snippet's `search_words`."""
    t = time.perf_counter()
    try:
        bm25.search(folder / "bm25", search_words(text), top=10)
    except Exception:  # noqa: BLE001 - a snippet of punctuation only: counted like any query
        pass
    return (time.perf_counter() - t) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", default="release")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the indexes to time the build")
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    release = Path(args.release)
    version_dir = Path(os.path.realpath(release / "dataset"))
    if args.rebuild:
        shutil.rmtree(ReleaseLayout.at(release).index_dir(version_dir.name), ignore_errors=True)
    built = build_indexes(release, show_progress=False)
    manifest = json.loads((Path(built.folder) / "manifest.json").read_text())
    build_seconds = manifest["run"]["seconds"]
    documents = list(iter_documents(version_dir))
    rng = random.Random(0)
    queries = snippets(documents, args.queries, rng)
    folder = Path(built.folder)
    index = MembershipIndex(folder, built.dataset_version)
    read_into_page_cache(folder)  # as the Spaces and `membership serve` do when they start

    started = time.perf_counter()
    baseline = ChunkSetPortrait(documents)
    baseline_build = time.perf_counter() - started
    baseline_bytes = len(baseline.hashes) * 8  # the hashes alone; a Python set holds several times more

    # search alone, as the data inspector Space (a process of its own) serves it; then again between
    # the membership queries, as one process serving both would (they evict each other's CPU caches)
    for text, _, _ in queries[:100]:  # warm up: the first opening of the index and its first pages
        timed_search(folder, text)
    search_ms = [timed_search(folder, text) for text, _, _ in queries]
    quoted = ['"' in search_words(text) for text, _, _ in queries]
    search_interleaved_ms, spans_ms, spans_ms_per_kb, portrait_ms, baseline_ms = [], [], [], [], []
    true_source, verbatim_found, portrait_yes, baseline_yes = 0, 0, 0, 0
    for text, source, perturbed in queries:
        search_interleaved_ms.append(timed_search(folder, text))
        t = time.perf_counter()
        result = index.attribute(text, max_sources=20)
        elapsed = (time.perf_counter() - t) * 1000
        spans_ms.append(elapsed)
        spans_ms_per_kb.append(elapsed * 1000 / max(len(text.encode("utf-8")), 1))
        names = {(s.repo, s.path) for span in result.spans for s in span.sources}
        row = index.table.take([source]).to_pylist()[0]
        if perturbed:
            true_source += (row["repo"], row["path"]) in names
        else:
            verbatim_found += (row["repo"], row["path"]) in names
        t = time.perf_counter()
        portrait_yes += portrait.query(folder / "portrait.bloom", text).member
        portrait_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        baseline_yes += baseline.member(text)
        baseline_ms.append((time.perf_counter() - t) * 1000)
    backends = compare_backends(folder, built.dataset_version, documents, queries, release / "bench-membership")
    unseen_rng = random.Random(1)
    written, held_back = written_code(unseen_rng, 250), held_back_files(version_dir, 250, unseen_rng)
    false_positives = {
        "written_for_the_benchmark": portrait_false_positives(folder, index, baseline, written),
        "held_back_files": portrait_false_positives(folder, index, baseline, held_back),
    }

    text_bytes = built.text_bytes
    sizes = {k: v / text_bytes for k, v in manifest["sizes"].items()}
    half = args.queries // 2
    figures = {
        "benchmark": "index",
        "dataset_version": built.dataset_version,
        "documents": built.documents,
        "text_mib": round(text_bytes / 2**20, 1),
        "build_seconds": build_seconds,
        "bytes_per_dataset_byte": {k: round(v, 3) for k, v in sizes.items()},
        "portrait_fraction_of_dataset": round(sizes["portrait"], 4),
        "search_top10_ms_p50_p99": [round(v, 2) for v in percentiles(search_ms)],
        "search_top10_interleaved_ms_p50_p99": [round(v, 2) for v in percentiles(search_interleaved_ms)],
        # the tail's query class: quotation marks, which the search syntax reads as phrases
        "search_top10_ms_p50_p99_by_quotes": {
            label: [round(v, 2) for v in percentiles([ms for ms, q in zip(search_ms, quoted) if q == value])]
            for label, value in (("with", True), ("without", False))
        },
        "membership_backend": built.backend,
        "spans_ms_p50_p99": [round(v, 2) for v in percentiles(spans_ms)],
        "spans_ms_per_kb_p50_p99": [round(v, 2) for v in percentiles(spans_ms_per_kb)],
        "membership_backends": backends,
        "portrait_ms_p50_p99": [round(v, 2) for v in percentiles(portrait_ms)],
        "baseline_chunkset_ms_p50_p99": [round(v, 2) for v in percentiles(baseline_ms)],
        "baseline_build_seconds": round(baseline_build, 1),
        "baseline_hash_bytes": baseline_bytes,
        "verbatim_true_source": f"{verbatim_found}/{half}",
        "perturbed_true_source": f"{true_source}/{args.queries - half}",
        "perturbed_true_source_fraction": round(true_source / (args.queries - half), 3),
        "portrait_yes": f"{portrait_yes}/{args.queries}",
        "baseline_yes": f"{baseline_yes}/{args.queries}",
        "portrait_false_positives": false_positives,
    }
    print(
        f"{built.documents:,} documents, {figures['text_mib']} MiB of text (dataset {built.dataset_version}); "
        f"build {build_seconds} s"
    )
    for key, value in figures.items():
        if key not in ("benchmark",):
            print(f"  {key}: {value}")
    print(
        f"  spans p50 per kB vs target 5 ms: {figures['spans_ms_per_kb_p50_p99'][0] / 5:.2f}x of target; "
        f"portrait vs chunk-set baseline p50: {figures['portrait_ms_p50_p99'][0] / max(figures['baseline_chunkset_ms_p50_p99'][0], 1e-9):.2f}x"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
