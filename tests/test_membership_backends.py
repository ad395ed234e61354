"""The compact FM-index answers as the suffix arrays do, and an index in four shards as one in a
single shard: the same maximal spans, occurrence counts, first sources and document texts, on real
source files (the Python standard library this machine runs), checked against brute force."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from bigcode_release.errors import DataIndexError
from bigcode_release.index.shards import ShardedIndex, ShardWriter

pytestmark = pytest.mark.slow


def standard_library_files(count: int) -> list[str]:
    files = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))[:count]
    return [path.read_text(encoding="utf-8", errors="replace") for path in files]


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return standard_library_files(120)


def build(folder: Path, documents: list[str], backend: str, shards: int) -> ShardedIndex:
    writer = ShardWriter(folder, sum(len(d.encode()) + 1 for d in documents), shards)
    for number, text in enumerate(documents):
        writer.add(number, text)
    manifests = writer.finish(backend, processes=2)
    assert len(manifests) == shards and all(m["backend"] == backend for m in manifests)
    return ShardedIndex(folder)


@pytest.fixture(scope="module")
def indexes(corpus, tmp_path_factory) -> dict[str, ShardedIndex]:
    root = tmp_path_factory.mktemp("membership")
    return {
        "suffix-array": build(root / "sa", corpus, "suffix-array", 1),
        "fm": build(root / "fm", corpus, "fm", 1),
        "fm-4-shards": build(root / "fm4", corpus, "fm", 4),
    }


def queries(corpus: list[str], count: int, rng: random.Random) -> list[bytes]:
    """Verbatim pieces, pieces with a character changed every ~60, and pieces of two files joined."""
    out = []
    for index in range(count):
        text = rng.choice([d for d in corpus if len(d) > 900])
        start = rng.randrange(len(text) - 800)
        piece = text[start : start + rng.randrange(40, 800)]
        if index % 3 == 1:
            piece = "".join("§" if i % 60 == 59 else c for i, c in enumerate(piece))
        elif index % 3 == 2:
            other = rng.choice(corpus)
            piece += "\nzq_not_in_any_file_4417 = 1\n" + other[: rng.randrange(20, 300)]
        out.append(piece.encode("utf-8"))
    return out


def brute_force_count(data: bytes, pattern: bytes) -> int:
    count, at = 0, data.find(pattern)
    while at != -1:
        count, at = count + 1, data.find(pattern, at + 1)
    return count


def test_backends_and_shards_give_the_same_answers(corpus, indexes):
    rng = random.Random(7)
    reference = indexes["suffix-array"]
    for data in queries(corpus, 150, rng):
        for minimum in (16, 64):
            spans = reference.maximal_spans(data, minimum)
            for name, index in indexes.items():
                assert index.maximal_spans(data, minimum) == spans, (name, data[:80], minimum)
            for start, end in spans:
                found = {name: index.find(data[start:end]) for name, index in indexes.items()}
                assert len({f.count for f in found.values()}) == 1
                for limit in (5_000, 3):  # counted, and (above 3 occurrences) too common to list
                    sources = {name: index.documents(found[name], 5, limit) for name, index in indexes.items()}
                    assert len({repr(s) for s in sources.values()}) == 1, sources
                    assert (sources["fm"] == ([], 0, False)) == (found["fm"].count > limit)


def test_spans_counts_and_sources_agree_with_brute_force(corpus, indexes):
    """Every span occurs, as often as the index says, in the files it names first; one byte more
    on either side and it occurs nowhere."""
    encoded = [d.encode("utf-8") for d in corpus]
    joined = b"\xff".join(encoded)
    rng = random.Random(11)
    for data in queries(corpus, 40, rng):
        for name, index in indexes.items():
            for start, end in index.maximal_spans(data, 32):
                piece = data[start:end]
                assert index.find(piece).count == brute_force_count(joined, piece)
                holders = [n for n, text in enumerate(encoded) if piece in text]
                assert index.documents(index.find(piece), 5, 5_000) == (holders[:5], len(holders), True), name
                if end < len(data):
                    assert data[start : end + 1] not in joined
                if start > 0:
                    assert data[start - 1 : end] not in joined
    absent = b"zq_nothing_like_this_is_in_any_file_8812_" * 3
    assert all(index.maximal_spans(absent, 16) == [] for index in indexes.values())


def test_document_texts_read_back_from_every_backend(corpus, indexes):
    for number in random.Random(3).sample(range(len(corpus)), 25):
        for index in indexes.values():
            assert index.document_text(number) == corpus[number].encode("utf-8").decode("utf-8")


def test_the_compact_index_is_under_one_byte_per_byte(corpus, indexes, tmp_path):
    text_bytes = sum(len(d.encode()) + 1 for d in corpus)
    for name in ("fm", "fm-4-shards"):
        shards = indexes[name].shards
        size = sum(p.stat().st_size for s in shards for p in Path(s.folder).iterdir() if p.name != "manifest.json")
        assert size / text_bytes <= 1.0, (name, size / text_bytes)
    reference = indexes["suffix-array"].shards[0]
    assert sum(p.stat().st_size for p in Path(reference.folder).iterdir()) / text_bytes > 4.5


def test_bad_shard_counts_and_backends_are_refused(tmp_path):
    with pytest.raises(DataIndexError, match="--shards must be at least 1"):
        ShardWriter(tmp_path, 100, 0)
    writer = ShardWriter(tmp_path / "x", 100, 1)
    writer.add(0, "some text")
    with pytest.raises(DataIndexError, match="unknown membership backend 'btree'"):
        writer.finish("btree")
    with pytest.raises(DataIndexError, match="no complete membership index"):
        ShardedIndex(tmp_path / "empty")
    nothing = ShardWriter(tmp_path / "none", 0, 1)  # a version without documents: an empty index
    assert nothing.finish("fm") == [] and ShardedIndex(tmp_path / "none").maximal_spans(b"any text", 4) == []


def test_a_portrait_of_four_shards_answers_as_one_shard_and_is_one_filter(corpus, tmp_path):
    """The four shards' hash files set one filter: every chunk of the data is in it, and it answers
    every text as the one-shard portrait does (a chunk two shards share is counted twice in the
    sizing, so it is never smaller)."""
    from bigcode_release.index import portrait

    whole, _ = portrait.chunk_hashes(corpus)
    np.save(tmp_path / "whole.npy", whole)
    portrait.write_filter(tmp_path / "one.bloom", [tmp_path / "whole.npy"])
    parts = []
    for number in range(4):
        hashes, _ = portrait.chunk_hashes(corpus[number::4])
        np.save(tmp_path / f"shard-{number}.npy", hashes)
        parts.append(tmp_path / f"shard-{number}.npy")
    assert portrait.write_filter(tmp_path / "four.bloom", parts) >= len(whole)
    for text in corpus:
        normal = portrait.normalise(text)
        assert portrait.contains(tmp_path / "four.bloom", normal)[:: portrait.WIDTH].all()
        assert (
            portrait.query(tmp_path / "four.bloom", text).member == portrait.query(tmp_path / "one.bloom", text).member
        )
    unseen = "".join(random.Random(9).choice("klmnopq[]<>;: \n") for _ in range(5_000))  # not in the corpus
    assert (
        not portrait.query(tmp_path / "four.bloom", unseen).member
        and not portrait.query(tmp_path / "one.bloom", unseen).member
    )


def test_bad_queries_are_refused_by_every_backend(indexes):
    for index in indexes.values():
        with pytest.raises(DataIndexError, match="at least 1 byte"):
            index.maximal_spans(b"abcxyz", 0)
        with pytest.raises(DataIndexError, match="empty"):
            index.find(b"")


def test_the_portrait_holds_every_chunk_and_its_false_positives_are_near_the_configured_rate(corpus, tmp_path):
    from bigcode_release.index import portrait

    hashes, count = portrait.chunk_hashes(corpus)
    assert count == sum(len(portrait.chunks(text)) for text in corpus) and len(hashes) == len(set(hashes.tolist()))
    np.save(tmp_path / "hashes.npy", hashes)
    assert portrait.write_filter(tmp_path / "portrait.bloom", [tmp_path / "hashes.npy"]) == len(hashes)
    for text in corpus[:40]:
        normal = portrait.normalise(text)
        present = portrait.contains(tmp_path / "portrait.bloom", normal)
        assert present[:: portrait.WIDTH].all()  # no chunk of the data is missing
        assert len(normal) < 2 * portrait.WIDTH or portrait.query(tmp_path / "portrait.bloom", text).member
    chunks = {c for text in corpus for c in portrait.chunks(text)}
    rng = random.Random(5)
    unseen = "".join(rng.choice("abcdefghij(){}=+ \n") for _ in range(60_000))
    normal = portrait.normalise(unseen)
    windows = [normal[i : i + portrait.WIDTH] not in chunks for i in range(len(normal) - portrait.WIDTH + 1)]
    said = portrait.contains(tmp_path / "portrait.bloom", normal)
    rate = sum(bool(s) for s, absent in zip(said, windows) if absent) / sum(windows)
    assert rate < 3 * portrait.FALSE_POSITIVE_RATE, rate
    # a false "member" needs two false windows 50 apart: about p^2 per window (6 expected here)
    assert len(portrait.query(tmp_path / "portrait.bloom", unseen).spans) < 30
    moved = "x" * 7 + corpus[3]  # the same windows found wherever they sit in the text
    assert portrait.query(tmp_path / "portrait.bloom", moved).member
