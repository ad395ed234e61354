"""Exact and near dedup, decontamination and training format: units, then one build with planted
duplicates, a planted HumanEval solution and planted secrets."""

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import run_cli_json, write_recipe

from bigcode_release.data.dedup.keys import KEYS_SCHEMA, content_hash, priority_order
from bigcode_release.data.dedup.shingles import reference_shingles, shingle_hashes
from bigcode_release.data.dedup.signature import OnePermutationMinHash, estimated_jaccard
from bigcode_release.data.document import make_document
from bigcode_release.data.formatting import TrainingFormatter, stars_bucket
from bigcode_release.decontamination import BenchmarkIndex, load_benchmark_texts
from bigcode_release.recipe import DecontaminationConfig, FormatConfig

WORDS = [
    "load",
    "dataset",
    "tokenizer",
    "batch",
    "config",
    "stream",
    "shard",
    "merge",
    "index",
    "filter",
    "window",
    "cache",
    "record",
    "schema",
    "writer",
    "reader",
    "vector",
    "matrix",
    "score",
    "metric",
]


def module(seed: int, functions: int = 12) -> str:
    """A plausible Python module, different for every seed."""
    rng = random.Random(seed)
    parts = [f'"""Utilities for {rng.choice(WORDS)} handling."""\n\nimport os\n\n']
    for _ in range(functions):
        name = "_".join(rng.sample(WORDS, 3))
        args = ", ".join(rng.sample(WORDS, 2))
        parts.append(
            f"def {name}({args}):\n    total = {rng.choice(WORDS)} + {rng.randint(1, 99)}\n"
            f"    for item in {rng.choice(WORDS)}:\n        total += len(item) * {rng.randint(2, 9)}\n"
            f"    return {rng.choice(WORDS)}(total, {rng.choice(WORDS)})\n\n"
        )
    return "".join(parts)


def test_fast_shingles_match_the_plain_definition():
    for text in [module(1), "Ünïcode wörds ünd CamelCase_names 42 times\n" * 3, "a b c d", ""]:
        assert len(set(shingle_hashes(text).tolist())) == len(reference_shingles(text))
    assert np.array_equal(shingle_hashes("Foo bar BAZ qux quux"), shingle_hashes("foo, BAR; baz(qux) quux"))


def test_one_permutation_minhash_estimates_jaccard():
    rng = np.random.default_rng(0)
    minhash = OnePermutationMinHash(250, seed=1)
    for size, shared in [(20, 0.8), (400, 0.8), (4000, 0.5)]:
        common = rng.integers(0, 2**64 - 1, size=int(size * shared), dtype=np.uint64, endpoint=True)
        a = np.concatenate([common, rng.integers(0, 2**64 - 1, size=size - common.size, dtype=np.uint64)])
        b = np.concatenate([common, rng.integers(0, 2**64 - 1, size=size - common.size, dtype=np.uint64)])
        truth = common.size / (2 * size - common.size)
        assert abs(estimated_jaccard(minhash.signature(a), minhash.signature(b)) - truth) < 0.12
    assert np.array_equal(minhash.signature(a), OnePermutationMinHash(250, seed=1).signature(a))


def test_priority_license_then_stars_then_forks_then_id():
    rows = [
        (0, 1, 1, 1, 900, 0, "z/no-license", 0, None),
        (1, 1, 1, 2, 3, 0, "b/small", 0, None),
        (2, 1, 1, 2, 50, 1, "c/mid", 0, None),
        (3, 1, 1, 2, 50, 7, "d/forked", 0, None),
        (4, 1, 1, 2, 50, 7, "a/forked-twin", 0, None),
    ]
    keys = pa.Table.from_pylist([dict(zip(KEYS_SCHEMA.names, r)) for r in rows], schema=KEYS_SCHEMA)
    assert priority_order(keys).tolist() == [4, 3, 2, 1, 0]
    assert content_hash("x = 1  \r\ny = 2\n\n") == content_hash("x = 1\ny = 2")


def test_benchmark_index_finds_humaneval_problems_by_substring_and_overlap():
    texts = load_benchmark_texts(DecontaminationConfig())
    index = BenchmarkIndex(texts, ngram_words=10, min_words=8, ngram_overlap=0.5)
    problem = next(t for t in texts if t.problem_id == "HumanEval/12" and t.field == "prompt")
    found = index.find("import sys\n\n" + problem.text.replace("    ", "\t") + "\n    pass\n")
    assert (found.benchmark, found.problem_id, found.match) == ("humaneval", "HumanEval/12", "substring")
    half = problem.text[: len(problem.text) * 3 // 4]
    partial = index.find(half)
    assert partial.problem_id == "HumanEval/12" and partial.match == "ngram_overlap" and partial.overlap >= 0.5
    assert index.find(module(5)) is None


def test_training_format_is_seeded_and_repo_level_joins_files():
    docs = [
        make_document(
            f"print({i})\n",
            path=f"f{i}.py",
            repo_name="octo/app",
            owner="octo",
            licenses=["MIT"],
            license_expression="MIT",
            license_source="test",
            language="python",
            ext=".py",
            size=9,
            stars=150,
            forks=0,
        )
        for i in range(3)
    ]
    always = FormatConfig(metadata={"reponame": 1.0, "filename": 1.0, "gh_stars": 1.0})
    texts = [d.metadata["text"] for d in TrainingFormatter(always).run(iter(docs))]
    assert texts[0] == "<reponame>octo/app<filename>f0.py<gh_stars>100-1000\nprint(0)\n"
    sampled = FormatConfig(metadata={"reponame": 0.5, "filename": 0.5, "gh_stars": 0.5}, seed=7)
    first = [d.metadata["text"] for d in TrainingFormatter(sampled).run(iter(docs))]
    assert first == [d.metadata["text"] for d in TrainingFormatter(sampled).run(iter(docs))]
    joined = "".join(d.metadata["text"] for d in TrainingFormatter(FormatConfig(repo_level=True)).run(iter(docs)))
    assert (
        joined == "<reponame>octo/app<file_sep>f0.py\nprint(0)\n<file_sep>f1.py\nprint(1)\n<file_sep>f2.py\nprint(2)\n"
    )
    assert [stars_bucket(s) for s in (None, 3, 10, 999, 5000)] == ["0", "1-10", "10-100", "100-1000", "1000+"]


def _ledger(version_dir: Path) -> dict[str, dict]:
    rows = {}
    for path in (version_dir / "work" / "dropped").glob("*/*.jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                rows[f"{row['repo_name']}/{row['path']}"] = row
    return rows


@pytest.mark.slow
def test_build_keeps_the_best_copy_drops_benchmarks_and_redacts_secrets(tmp_path):
    base, near = module(1), module(2)
    edited = near.replace("total += len(item)", "total -= len(item)", 2)  # a near duplicate
    problem = next(t for t in load_benchmark_texts(DecontaminationConfig()) if t.problem_id == "HumanEval/0")
    secret, email = "ghp_Zx8Kq2Lm7Nw4Pv9Rt3Ys6Ub1Ec5Hd0Jf2Ga", "maria.kovacs@acme-corp.io"
    files = [  # repo, path, content, licenses, stars
        ("low/copy", "util.py", base, ["MIT"], 1),
        ("high/copy", "vendor/util.py", base, ["Apache-2.0"], 500),
        ("mid/copy", "util.py", base.replace("\n", "  \n"), ["BSD-3-Clause"], 50),
        ("alpha/lib", "lib.py", near, ["MIT"], 5),
        ("beta/lib", "lib.py", edited, ["MIT"], 900),
        ("sneaky/solutions", "solve.py", problem.text + "    return True\n", ["MIT"], 3),
        ("ops/deploy", "settings.py", module(9) + f'TOKEN = "{secret}"\nOWNER = "{email}"\n', ["MIT"], 2),
    ] + [(f"misc/r{i}", "m.py", module(100 + i), ["MIT"], i) for i in range(5)]
    data = tmp_path / "stack"
    data.mkdir()
    pq.write_table(
        pa.table(
            {
                "repo_name": [f[0] for f in files],
                "path": [f[1] for f in files],
                "content": [f[2] for f in files],
                "licenses": [f[3] for f in files],
                "stars": [f[4] for f in files],
                "language": ["Python"] * len(files),
            }
        ),
        data / "part-0.parquet",
    )
    recipe = write_recipe(
        tmp_path,
        {
            "source": {"kind": "stack", "data_folder": str(data), "format": "parquet"},
            "executor": {"tasks": 2, "workers": 2},
            "format": {"metadata": {"reponame": 1.0, "filename": 0.0, "gh_stars": 0.0}},
        },
    )
    result = run_cli_json("dataset", "build", str(recipe), "--out", str(tmp_path / "release"))
    version_dir = Path(result["version_dir"])
    assert result["accounting_ok"]
    steps = {s["step"]: s for s in result["steps"]}
    assert steps["exact_dedup"]["dropped"] == {"exact_duplicate": 2}
    assert steps["near_dedup"]["dropped"] == {"near_duplicate": 1}
    assert steps["decontamination"]["dropped"] == {"contaminated": 1}
    ledger = _ledger(version_dir)
    assert (
        ledger["low/copy/util.py"]["duplicate_of"]
        == ledger["mid/copy/util.py"]["duplicate_of"]
        == "high/copy/vendor/util.py"
    )
    assert ledger["alpha/lib/lib.py"]["duplicate_of"] == "beta/lib/lib.py"
    assert ledger["sneaky/solutions/solve.py"]["contamination"]["problem_id"] == "HumanEval/0"
    rows = {r["id"]: r for r in pq.read_table(version_dir / "data").to_pylist()}
    assert set(rows) == {
        "high/copy/vendor/util.py",
        "beta/lib/lib.py",
        "ops/deploy/settings.py",
        *(f"misc/r{i}/m.py" for i in range(5)),
    }
    settings = rows["ops/deploy/settings.py"]
    assert secret not in settings["content"] and email not in settings["content"]
    assert 'TOKEN = "<KEY>"' in settings["content"] and 'OWNER = "<EMAIL>"' in settings["content"]
    assert settings["text"] == f"<reponame>ops/deploy\n{settings['content']}"
    assert result["dedup"]["exact_removed"] == 2 and result["dedup"]["near_clusters"] == 1
    assert result["pii"]["replaced"] == {"EMAIL": 1, "KEY": 1}
    card = (version_dir / "README.md").read_text(encoding="utf-8")
    assert "## Deduplication" in card and "## Decontamination" in card and "HumanEval/0" in card
    assert not (version_dir / "work" / "filtered").exists()


def test_a_benchmark_jsonl_from_the_recipe_is_indexed_and_a_broken_one_refused(tmp_path):
    from bigcode_release.errors import BenchmarkFileError
    from bigcode_release.recipe import BenchmarkFile

    solution = (
        "def rolling_checksum(values, window):\n    return [sum(values[i:i + window]) % 65521 "
        "for i in range(len(values) - window + 1)]\n"
    )
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"id": "mine/7", "text": "Compute rolling checksums.", "code": solution}) + "\n")
    config = DecontaminationConfig(
        humaneval=False, benchmarks=[BenchmarkFile(name="mine", path=path, id_field="id", fields=["text", "code"])]
    )
    index = BenchmarkIndex(load_benchmark_texts(config), ngram_words=10, min_words=8, ngram_overlap=0.5)
    found = index.find("import math\n\n" + solution)
    assert (found.benchmark, found.problem_id, found.field, found.match) == ("mine", "mine/7", "code", "substring")
    path.write_text('{"text": "no id here"}\n')
    with pytest.raises(BenchmarkFileError, match="line 1: no 'id' field"):
        load_benchmark_texts(config)
