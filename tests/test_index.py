"""Data indexes on a small built release: identifier-aware search, attribution of a text to its
source files with licenses and a notice, the portrait, the /overlap endpoint, bad input answered
clearly, and an opted-out repository absent from every index."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bigcode_release.data.build import build_dataset
from bigcode_release.errors import DataIndexError
from bigcode_release.hardware import available_memory_bytes, usable_cores
from bigcode_release.index.attribution import MembershipIndex
from bigcode_release.index.build import build_indexes
from bigcode_release.index.overlap_app import create_overlap_app
from bigcode_release.index.shards import build_processes
from bigcode_release.optout.export_format import OptOutEntry, write_optout_list
from tests.conftest import CLI, MIT_TEXT, REPO_ROOT, folder_recipe, run_cli

pytestmark = pytest.mark.slow

LOADER = '''"""Loading datasets from local files."""

import json


def load_dataset(path, split="train"):
    """Read a JSON-lines file and return the rows of one split, skipping blank lines. [x] :x: \\ ok"""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rows.append(json.loads(line))
    return [row for row in rows if row.get("split", "train") == split]
'''
SECRET_SAUCE = '''def opted_out_algorithm(values):
    """This function belongs to a repository whose owner opted out of the dataset."""
    return sorted({value * 7919 % 104729 for value in values if value % 3 != 1}, reverse=True)
'''
APACHE = "                                 Apache License\n                           Version 2.0, January 2004\n"


def write_repo(root: Path, owner: str, name: str, license_text: str, files: dict[str, str]) -> None:
    repo = root / owner / name
    repo.mkdir(parents=True)
    (repo / "LICENSE").write_text(license_text)
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("indexed")
    repos = root / "repos"
    write_repo(repos, "alice", "loaders", MIT_TEXT, {"loaders/core.py": LOADER})
    write_repo(
        repos,
        "carol",
        "tools",
        APACHE,
        {
            "tools/CamelCase.java": (
                "public class DatasetTools {\n    public static String LoadDataset(String path) {\n"
                "        return java.nio.file.Files.readString(java.nio.file.Path.of(path));\n    }\n}\n"
            )
        },
    )
    write_repo(repos, "mallory", "private", MIT_TEXT, {"secret.py": SECRET_SAUCE})
    optouts = write_optout_list([OptOutEntry("mallory", "req-9")], root / "optout.jsonl")
    recipe = folder_recipe(root, repos, optout={"list": str(optouts)}, decontamination={"enabled": False})
    build_dataset(recipe, root / "release", show_progress=False)
    build_indexes(root / "release", show_progress=False)
    return root / "release"


def test_the_build_writes_a_manifest_and_is_reused(release):
    manifest = json.loads((release / "index" / "v1.0" / "manifest.json").read_text())
    dataset = json.loads((release / "dataset" / "manifest.json").read_text())
    assert manifest["kinds"] == ["bm25", "fm", "portrait"]
    assert manifest["dataset_manifest_hash"] == dataset["manifest_hash"] and manifest["counts"]["documents"] == 2
    assert {o["path"] for o in manifest["outputs"]} >= {
        "portrait.bloom",
        "documents.parquet",
        "membership/shard-0000/fm-bits.npy",
        "membership/shard-0000/manifest.json",
    }
    assert all(len(o["sha256"]) == 64 for o in manifest["outputs"]) and manifest["sizes"]["bm25"] > 0
    again = json.loads(run_cli("index", "build", str(release), "--json").stdout)
    assert again["reused"]


def test_index_build_in_shards_with_fewer_processes_answers_as_one_shard(release, tmp_path):
    copy = tmp_path / "release"
    shutil.copytree(release, copy, symlinks=True)
    text = LOADER[LOADER.index("def load_dataset") :] + "\n" + SECRET_SAUCE
    (tmp_path / "query.py").write_text(text)

    def spans(at: Path) -> list:
        query = run_cli("membership", "query", str(tmp_path / "query.py"), "--release", str(at), "--json")
        return [
            (s["start"], s["end"], s["occurrences"], [x["path"] for x in s["sources"]])
            for s in json.loads(query.stdout)["spans"]
        ]

    refused = run_cli("index", "build", str(copy), "--shards", "2", "--processes", "0", check=False)
    assert refused.returncode == 2 and "--processes must be at least 1, got 0" in refused.stderr
    assert json.loads((copy / "index" / "v1.0" / "manifest.json").read_text())["counts"]["membership_shards"] == 1
    built = json.loads(run_cli("index", "build", str(copy), "--shards", "2", "--processes", "1", "--json").stdout)
    assert built["shards"] == 2 and not built["reused"]
    manifest = json.loads((copy / "index" / "v1.0" / "manifest.json").read_text())
    assert manifest["membership"]["processes"] == 1 and len(manifest["membership"]["shards"]) == 2
    for number in range(2):
        shard = json.loads(
            (copy / "index" / "v1.0" / "membership" / f"shard-{number:04d}" / "manifest.json").read_text()
        )
        assert shard["documents"] == 1 and shard["kind"] == "membership-shard"
    assert spans(copy) == spans(release) and spans(release)
    # the portrait is one filter set from both shards' chunk hashes (removed once read)
    sharded, single = (
        json.loads((at / "index" / "v1.0" / "manifest.json").read_text())["counts"] for at in (copy, release)
    )
    assert sharded["portrait_chunks"] == single["portrait_chunks"] > 0
    assert sharded["portrait_distinct_chunks"] >= single["portrait_distinct_chunks"] > 0
    assert not list((copy / "index" / "v1.0").rglob("portrait-hashes.npy"))

    def portrait_answer(at: Path) -> tuple:
        query = run_cli("membership", "portrait-query", str(tmp_path / "query.py"), "--release", str(at), "--json")
        answer = json.loads(query.stdout)
        return answer["member"], answer["longest_chain"]

    assert portrait_answer(copy) == portrait_answer(release) and portrait_answer(release)[0]


def test_shard_builds_at_once_are_capped_by_memory_cores_and_shards():
    gib = 2**30
    cores = usable_cores()
    assert build_processes([gib] * 8, "fm", available=20 * gib) == 1  # 16.25 GiB a shard
    assert build_processes([gib] * 8, "suffix-array", available=20 * gib) == min(cores, 3)  # 6.25 GiB
    assert build_processes([gib] * 8, "fm", available=gib) == 1  # never none: one runs anyway
    assert build_processes([gib] * 8, "fm", processes=5, available=gib) == 5  # asked for: taken
    assert build_processes([gib] * 2, "fm", processes=5) == 2
    assert build_processes([2**20] * 64, "fm", available=None) == min(cores, 64)
    with pytest.raises(DataIndexError, match="--processes must be at least 1"):
        build_processes([gib], "fm", processes=0)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_available_memory_is_the_least_of_meminfo_and_every_enclosing_cgroup_limit(tmp_path, version):
    """A job's cgroup (as Slurm, Docker or Kubernetes set one) caps what MemAvailable says."""
    gib = 2**30
    proc, cgroups = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "self").mkdir(parents=True)
    (proc / "meminfo").write_text(f"MemTotal: {64 * gib // 1024} kB\nMemAvailable: {48 * gib // 1024} kB\n")
    if version == "v2":
        (proc / "self" / "cgroup").write_text("0::/slurm/job_7/step_0\n")
        root, limit, usage, unlimited = cgroups, "memory.max", "memory.current", "max"
    else:
        (proc / "self" / "cgroup").write_text("4:memory:/slurm/job_7/step_0\n3:cpuset:/\n")
        root, limit, usage, unlimited = (
            cgroups / "memory",
            "memory.limit_in_bytes",
            "memory.usage_in_bytes",
            str(2**63 - 4096),
        )
    step, job = root / "slurm" / "job_7" / "step_0", root / "slurm" / "job_7"
    step.mkdir(parents=True)
    for folder, cap, used in ((step, unlimited, gib), (job, str(16 * gib), 4 * gib), (root, unlimited, 30 * gib)):
        (folder / limit).write_text(cap + "\n")
        (folder / usage).write_text(f"{used}\n")
    assert available_memory_bytes(proc, cgroups) == 12 * gib  # the job's 16 GiB less its 4 GiB in use
    (job / limit).write_text(unlimited)
    assert available_memory_bytes(proc, cgroups) == 48 * gib  # no limit anywhere: MemAvailable
    assert available_memory_bytes(tmp_path / "none", tmp_path / "none") is None


@pytest.mark.parametrize("query", ["load_dataset", "LoadDataset", "loadDataset", '"def load_dataset(path"'])
def test_identifiers_match_in_any_style(release, query):
    hits = json.loads(run_cli("search", query, "--release", str(release), "--json").stdout)["hits"]
    assert hits and hits[0]["repo"] in ("alice/loaders", "carol/tools")
    assert {h["repo"] for h in hits} <= {"alice/loaders", "carol/tools"}


def test_snippets_are_cut_from_the_file_and_the_search_index_stores_no_text(release):
    found = json.loads(
        run_cli("search", '"skipping blank lines"', "--snippets", "--release", str(release), "--json").stdout
    )
    [hit] = found["hits"]
    assert hit["path"] == "loaders/core.py"
    assert "<b>skipping</b> <b>blank</b> <b>lines</b>" in hit["snippet"], hit["snippet"]
    assert "encoding=&quot;utf-8&quot;" in hit["snippet"]  # HTML-escaped around the matches
    shown = run_cli("search", '"skipping blank lines"', "--snippets", "--release", str(release)).stdout
    assert "one split, skipping blank lines. [x] :x: \\ ok" in shown  # no markup or emoji read from the file
    assert 'encoding="utf-8"' in shown and "<b>" not in shown
    plain = json.loads(run_cli("search", '"skipping blank lines"', "--release", str(release), "--json").stdout)
    assert plain["hits"][0]["snippet"] == ""
    meta = json.loads((release / "index" / "v1.0" / "bm25" / "meta.json").read_text())
    assert [f["options"]["stored"] for f in meta["schema"] if f["name"] == "content"] == [False]
    stores = b"".join(path.read_bytes() for path in (release / "index" / "v1.0" / "bm25").glob("*.store"))
    assert stores and b"skipping" not in stores and b"loaders/core.py" in stores  # metadata only (lz4 keeps these)


def test_excerpts_are_cut_for_the_page_shown_only_after_the_mask(release):
    """Each file's text is read back through the membership index (milliseconds per kB): only the
    hits on the page get one, and never a hidden file."""
    from bigcode_release.optout.mask import OptOutMask, masked_search

    folder = release / "index" / "v1.0"
    membership = MembershipIndex(folder, "v1.0").suffix
    read: list[int] = []

    def texts(number: int) -> str:
        read.append(number)
        return membership.document_text(number)

    mask = OptOutMask("v1.0", None, copies={"carol/tools/tools/CamelCase.java": "req-7"})
    everything, _ = masked_search(folder, OptOutMask("v1.0", None), "load_dataset")
    assert {h.path for h in everything.hits} == {"loaders/core.py", "tools/CamelCase.java"} and not read
    page, hidden = masked_search(folder, mask, "load_dataset", top=1, texts=texts)
    assert hidden == 1 and [h.path for h in page.hits] == ["loaders/core.py"]
    assert read == [page.hits[0].doc] and "<b>load</b>" in page.hits[0].snippet
    first, _ = masked_search(folder, OptOutMask("v1.0", None), "load_dataset", top=1, texts=texts)
    assert len(read) == 2 and read[1] == first.hits[0].doc


def test_filters_and_bad_queries(release):
    java = json.loads(
        run_cli("search", "LoadDataset", "--language", "java", "--release", str(release), "--json").stdout
    )
    assert [h["path"] for h in java["hits"]] == ["tools/CamelCase.java"] and java["hits"][0]["license"] == "Apache-2.0"
    mit = json.loads(run_cli("search", "load_dataset", "--license", "MIT", "--release", str(release), "--json").stdout)
    assert [h["repo"] for h in mit["hits"]] == ["alice/loaders"]
    quoted = run_cli("search", 'load_dataset "(" "):"', "--release", str(release), "--json").stdout  # pasted code
    assert (
        json.loads(quoted)["hits"]
        == json.loads(run_cli("search", "load_dataset", "--release", str(release), "--json").stdout)["hits"]
    )
    lone = run_cli("search", '"): ["', "--release", str(release), check=False)
    assert lone.returncode == 2 and "no letters or digits" in lone.stderr
    assert run_cli("search", '"日志" "π"', "--release", str(release), "--json").returncode == 0  # letters, not ASCII
    punctuation = run_cli("search", "(((", "--release", str(release), check=False)
    assert punctuation.returncode == 2 and "no letters or digits" in punctuation.stderr
    for syntax in ("title:x AND (y OR", 'a" OR "b', "*?~^[]{}", "NOT -+"):
        result = run_cli("search", syntax, "--release", str(release), "--json", check=False)
        assert result.returncode in (0, 2) and "Traceback" not in result.stderr, syntax


def test_attribution_finds_the_copied_span_its_file_license_and_notice(release):
    copied = LOADER[LOADER.index("def load_dataset") : LOADER.index("    return [row")]
    text = "# ünïcödé header written by me\nx = 1\n" + copied + "\nprint('mine')\n"
    index = MembershipIndex(release / "index" / "v1.0", "v1.0")
    result = index.attribute(text).to_dict()
    assert len(result["spans"]) == 1
    span = result["spans"][0]
    assert text[span["start"] : span["end"]] in LOADER and len(text[span["start"] : span["end"]]) >= len(copied) - 1
    assert span["sources"][0]["repo"] == "alice/loaders" and span["sources"][0]["path"] == "loaders/core.py"
    assert span["sources"][0]["license"] == "MIT" and span["documents"] == 1
    assert result["licenses"] == {"MIT": 1} and 0.5 < result["coverage"] < 1
    assert "https://github.com/alice/loaders/blob/HEAD/loaders/core.py" in result["notice"]
    assert (
        index.attribute("def totally_new():\n    return 'nothing here was copied from anywhere at all'\n").spans == []
    )


def test_opted_out_code_is_absent_from_every_index(release, tmp_path):
    index = MembershipIndex(release / "index" / "v1.0", "v1.0")
    assert index.attribute(SECRET_SAUCE).spans == []
    hits = json.loads(run_cli("search", "opted_out_algorithm", "--release", str(release), "--json").stdout)["hits"]
    assert hits == []
    sample = tmp_path / "secret.py"
    sample.write_text(SECRET_SAUCE)
    portrait = json.loads(
        run_cli("membership", "portrait-query", str(sample), "--release", str(release), "--json").stdout
    )
    assert not portrait["member"]
    kept = tmp_path / "kept.py"
    kept.write_text(LOADER)
    assert json.loads(run_cli("membership", "portrait-query", str(kept), "--release", str(release), "--json").stdout)[
        "member"
    ]


def test_bad_texts_get_clear_errors(release, tmp_path):
    cases = {
        "empty.py": b"   \n",
        "latin1.py": b"caf\xe9 = 1\n",
        "binary.bin": b"\x7fELF\x00\x00\x01",
        "huge.py": b"x = 1\n" * (10 * 2**20 // 6),
    }
    expected = {
        "empty.py": "the text is empty",
        "latin1.py": "not UTF-8 text (invalid byte at offset 3)",
        "binary.bin": "looks binary",
        "huge.py": "attribution takes at most",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        result = run_cli("membership", "query", str(tmp_path / name), "--release", str(release), check=False)
        assert result.returncode == 2 and expected[name] in result.stderr, (name, result.stderr)
    stdin = subprocess.run(
        [*CLI, "membership", "query", "-", "--release", str(release), "--json"],
        input=LOADER,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert json.loads(stdin.stdout)["coverage"] > 0.9
    missing = run_cli("search", "x", "--release", str(tmp_path), check=False)
    assert missing.returncode == 2 and "no data index" in missing.stderr


def test_the_overlap_endpoint_answers_like_the_vscode_extension_expects(release):
    client = TestClient(create_overlap_app(MembershipIndex(release / "index" / "v1.0", "v1.0")))
    window = "// é ü\n" + LOADER[40:300]
    answer = client.post("/overlap", json={"document": window}).json()
    start, end = answer["spans"][0]
    assert window[start:end] in LOADER and answer["sources"][0][0]["repo"] == "alice/loaders"
    assert client.post("/overlap", json={"document": "   "}).json()["spans"] == []
    assert (
        client.post("/overlap", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    )
    assert client.post("/overlap", json={"text": "x"}).status_code == 422
    assert client.post("/overlap", json={"document": "a\x00b"}).status_code == 422
    assert (
        client.post("/overlap", content=b"x" * 3_000_000, headers={"content-type": "application/json"}).status_code
        == 413
    )
    assert client.get("/health").json() == {"dataset_version": "v1.0"}


def test_transparency_counts_the_index(release):
    from bigcode_release.release.plan import release_transparency

    status = {r.number: r.status for r in release_transparency(release).results}
    assert status[91] == "measured"  # December 2025: detection of machine-generated content
    status = {r.number: r.status for r in release_transparency(release, edition="2024-05").results}
    assert status[18] == status[52] == status[53] == status[70] == "measured"


def test_spans_agree_with_a_brute_force_oracle(release):
    """Every span found occurs (str.find) in exactly the files the index names; text from the data
    is covered; text that is nowhere in the data gives no span."""
    import random

    from bigcode_release.index.documents import iter_documents

    documents = list(iter_documents(Path(os.path.realpath(release / "dataset"))))
    index = MembershipIndex(release / "index" / "v1.0", "v1.0")
    rng = random.Random(0)
    for _ in range(20):
        source = rng.choice(documents).content
        start = rng.randrange(0, max(len(source) - 120, 1))
        piece = source[start : start + rng.randrange(70, 120)]
        text = "zq_unique_prefix_7731 = None\n" + piece + "\nzq_unique_suffix_9917()\n"
        result = index.attribute(text, min_bytes=32, max_sources=50)
        assert result.spans, piece
        for span in result.spans:
            found = text[span.start : span.end]
            holders = {(d.repo, d.path) for d in documents if d.content.find(found) != -1}
            assert {(s.repo, s.path) for s in span.sources} == holders and span.documents == len(holders)
            if span.end < len(text):  # maximal: one more character and it is nowhere
                assert not any(d.content.find(text[span.start : span.end + 1]) != -1 for d in documents)
        covered = "".join(text[s.start : s.end] for s in result.spans)
        assert piece.strip()[:32] in text and len(covered) >= min(len(piece), 32)
    assert index.attribute("zq_nothing_like_this_is_in_any_file_at_all_8812_" * 3).spans == []


def test_the_overlap_answer_has_exactly_the_shape_the_extension_reads(release):
    client = TestClient(create_overlap_app(MembershipIndex(release / "index" / "v1.0", "v1.0")))
    window = LOADER[:250]
    response = client.post("/overlap", json={"document": window}, headers={"content-type": "application/json"})
    body = response.json()
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert isinstance(body["spans"], list) and all(
        isinstance(span, list) and len(span) == 2 and all(isinstance(v, int) for v in span) for span in body["spans"]
    )
    assert all(0 <= start < end <= len(window) for start, end in body["spans"])
    assert body["spans"] == [[0, 250]] or body["spans"][0][1] - body["spans"][0][0] >= 200


def test_a_span_too_common_to_list_is_shown_with_its_count_and_no_sources(release, monkeypatch):
    from bigcode_release.index import attribution
    from bigcode_release.index.service import MembershipTest

    monkeypatch.setattr(attribution, "LIST_MAX_OCCURRENCES", 0)  # every span is "too common" here
    result = MembershipIndex(release / "index" / "v1.0", "v1.0").attribute(LOADER)
    assert result.spans and all(not s.documents_complete and s.sources == [] and s.occurrences for s in result.spans)
    assert not any(s.looks_copied for s in result.spans) and result.notice == ""
    summary, _html, rows, _notice = MembershipTest(release).check(LOADER)
    assert rows and rows[0][3].startswith("found ") and rows[0][5] == "(too common to list)"
