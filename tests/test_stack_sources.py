"""The Stack v1, v2 and v3 schemas as sources, local and streamed from the Hub (`kind: stack`)."""

import gzip
import hashlib
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import run_cli, write_recipe
from test_build import ledger_reasons

from bigcode_release.data.document import OUTPUT_SCHEMA
from tests.hub_server import FakeHub, RunningHub

pytestmark = pytest.mark.slow

MAIN = "import sys\n\n\ndef main(argv):\n    for name in argv:\n        print('hello', name)\n    return 0\n"
VENDORED = "def merge(left, right):\n    out = dict(left)\n    out.update(right)\n    return out\n"
GPL_TOOL = "def tool(path):\n    with open(path) as handle:\n        return handle.read().split()\n"
SECOND = "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        self.items.append(item)\n"


def stack_recipe(folder: Path, source: dict) -> Path:
    return write_recipe(folder, {"source": {"kind": "stack", **source}, "executor": {"tasks": 1, "workers": 1}})


def build(recipe: Path, out: Path, env: dict | None = None) -> dict:
    result = run_cli("dataset", "build", str(recipe), "--out", str(out), "--json", env=env)
    return json.loads(result.stdout)


def source_stats(result: dict) -> dict:
    return next(s for s in result["steps"] if s["step"] == "source")


def rows(result: dict) -> list[dict]:
    return pq.read_table(Path(result["version_dir"]) / "data").to_pylist()


def blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def v3_table() -> pa.Table:
    file_type = pa.struct(
        [
            ("file_path", pa.string()),
            ("content", pa.large_string()),
            ("language", pa.string()),
            ("detected_licenses", pa.list_(pa.string())),
        ]
    )
    return pa.table(
        {
            "repo_path": ["acme/tool", "acme/gpl-tool", "acme/empty"],
            "license_type": ["permissive", "permissive", "no_license"],
            "detected_licenses": [["Apache-2.0"], ["GPL-2.0-only"], []],
            "files": pa.array(
                [
                    [
                        {"file_path": "tool/main.py", "content": MAIN, "language": "Python", "detected_licenses": None},
                        {
                            "file_path": "third_party/merge/merge.py",
                            "content": VENDORED,
                            "language": "Python",
                            "detected_licenses": ["MPL-2.0"],
                        },
                        {
                            "file_path": "tool/stack.py",
                            "content": SECOND,
                            "language": "Python",
                            "detected_licenses": None,
                        },
                    ],
                    [{"file_path": "gpl.py", "content": GPL_TOOL, "language": "Python", "detected_licenses": None}],
                    [],
                ],
                type=pa.list_(file_type),
            ),
        }
    )


def test_stack_v2_reads_contents_from_a_content_store_and_applies_every_detected_license(tmp_path):
    data, store = tmp_path / "v2", tmp_path / "blobs"
    data.mkdir()
    store.mkdir()
    latin = "# caf\u00e9 au lait\ndef order(size):\n    return {'size': size, 'milk': True}\n"
    contents = {
        "/src/app.py": MAIN.encode(),
        "/src/legacy.py": GPL_TOOL.encode(),
        "/src/latin.py": latin.encode("latin-1"),
        "/src/missing.py": b"print('never stored')\n",
        "/lib.py": SECOND.encode(),
    }
    ids = {path: blob_id(raw) for path, raw in contents.items()}
    for path, raw in contents.items():
        if path != "/src/missing.py":  # Software Heritage's archive keeps blobs gzip-compressed
            (store / ids[path]).write_bytes(gzip.compress(raw))
    mirrored = "def mirrored():\n    return 'a mirror ships contents inline'\n"
    pq.write_table(
        pa.table(
            {
                "blob_id": [ids[p] for p in contents] + [blob_id(mirrored.encode()), "0" * 40],
                "repo_name": ["octo/app"] * 4 + ["octo/no-license", "octo/mirror", None],
                "path": [*contents, "/m.py", "/orphan.py"],
                "detected_licenses": [["MIT"], ["MIT", "GPL-3.0-only"], ["MIT"], ["MIT"], [], ["BSD-3-Clause"], []],
                "license_type": ["permissive"] * 4 + ["no_license", "permissive", "no_license"],
                "src_encoding": ["UTF-8", "UTF-8", "ISO-8859-1", "UTF-8", "UTF-8", "UTF-8", "UTF-8"],
                "language": ["Python"] * 7,
                "star_events_count": [7, 7, 7, 7, 0, 1, 0],
                "fork_events_count": [2, 2, 2, 2, 0, 0, 0],
                "content": [None] * 5 + [mirrored, "x = 1\n"],
            }
        ),
        data / "train-00000.parquet",
    )
    result = build(
        stack_recipe(tmp_path, {"data_folder": str(data), "schema": "v2", "content_store": str(store)}),
        tmp_path / "release",
    )
    kept = {r["id"]: r for r in rows(result)}
    assert set(kept) == {"octo/app/src/app.py", "octo/app/src/latin.py", "octo/mirror/m.py"}
    assert kept["octo/app/src/latin.py"]["content"] == latin  # decoded in the row's src_encoding
    assert kept["octo/app/src/app.py"]["stars"] == 7 and kept["octo/app/src/app.py"]["forks"] == 2
    assert kept["octo/app/src/app.py"]["license_source"] == "dataset:detected_licenses (license_type permissive)"
    reasons = ledger_reasons(Path(result["version_dir"]))
    assert reasons["octo/app/src/legacy.py"] == "non_permissive_license"  # MIT AND GPL-3.0-only
    assert reasons["octo/no-license/lib.py"] == "no_license"
    assert source_stats(result)["blobs_missing_from_content_store"] == 1
    assert source_stats(result)["rows_without_repo_or_path"] == 1  # a row without a repository is skipped


@pytest.fixture(scope="module")
def v3_local(tmp_path_factory):
    folder = tmp_path_factory.mktemp("v3")
    data = folder / "data"
    data.mkdir()
    pq.write_table(v3_table(), data / "train-00000.parquet")
    # a file of another schema in the same folder is skipped and counted, not fatal
    pq.write_table(pa.table({"blob_id": ["0" * 40], "path": ["/x.py"]}), data / "train-00001.parquet")
    result = build(stack_recipe(folder, {"data_folder": str(data), "schema": "v3"}), folder / "release")
    return folder, result


def test_stack_v3_repository_rows_become_file_rows_with_the_same_columns(v3_local):
    _, result = v3_local
    kept = rows(result)
    assert [r["id"] for r in kept] == ["acme/tool/tool/main.py", "acme/tool/tool/stack.py"]
    assert set(OUTPUT_SCHEMA.names) <= set(kept[0])  # the columns every other source writes
    assert kept[0]["license_expression"] == "Apache-2.0" and kept[0]["language"] == "python"
    reasons = ledger_reasons(Path(result["version_dir"]))
    # a file's own license (a vendored MPL subtree) is honoured as given; the filter still decides
    assert reasons["acme/tool/third_party/merge/merge.py"] == "non_permissive_license"
    assert reasons["acme/gpl-tool/gpl.py"] == "non_permissive_license"
    stats = source_stats(result)
    assert stats["repositories_without_name_or_files"] == 1 and stats["input_files_not_in_schema"] == 1


def test_stack_v3_streamed_from_the_hub_reads_the_same_files_by_ranged_requests(v3_local, tmp_path):
    folder, local = v3_local
    hub = FakeHub(users={}, orgs={})
    parquet = (folder / "data" / "train-00000.parquet").read_bytes()
    hub.seed_repo(
        "dataset", "HuggingFaceCode/stack-v3-sample", {"README.md": b"# sample\n", "data/train-00000.parquet": parquet}
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_HUB_OFFLINE")}
    with RunningHub(hub):
        env.update(HF_ENDPOINT=hub.url, HF_HUB_DISABLE_XET="1", HF_HOME=str(tmp_path / "hf"))
        recipe = stack_recipe(
            tmp_path, {"data_folder": "hf://datasets/HuggingFaceCode/stack-v3-sample/data", "schema": "v3"}
        )
        streamed = build(recipe, tmp_path / "release", env=env)
    assert hub.ranged_reads > 0
    columns = ("id", "content", "license_expression", "license_source", "language")
    assert [[r[c] for c in columns] for r in rows(streamed)] == [[r[c] for c in columns] for r in rows(local)]


def test_a_content_store_for_a_schema_that_has_its_contents_inline_is_refused(tmp_path):
    (tmp_path / "data").mkdir()
    recipe = stack_recipe(
        tmp_path, {"data_folder": str(tmp_path / "data"), "schema": "v3", "content_store": str(tmp_path)}
    )
    result = run_cli("dataset", "build", str(recipe), "--out", str(tmp_path / "r"), check=False)
    assert result.returncode == 2
    assert "content_store is read only for schema: v2" in result.stderr
    assert not (tmp_path / "r").exists()


def test_stack_v1_schema_reads_the_max_stars_columns(tmp_path):
    data = tmp_path / "v1"
    data.mkdir()
    pq.write_table(
        pa.table(
            {
                "content": [MAIN, SECOND],
                "max_stars_repo_name": ["octo/one", "octo/two"],
                "max_stars_repo_path": ["main.py", "stack.py"],
                "max_stars_repo_licenses": [["MIT", "GPL-2.0-only"], ["GPL-3.0-only"]],
                "max_stars_count": [3, None],
                "max_forks_count": [1, None],
                "lang": ["Python", "Python"],
            }
        ),
        data / "part.parquet",
    )
    kept = rows(build(stack_recipe(tmp_path, {"data_folder": str(data), "schema": "v1"}), tmp_path / "release"))
    # v1 listed the license files found side by side: a choice
    assert [(r["id"], r["license_expression"], r["stars"]) for r in kept] == [
        ("octo/one/main.py", "GPL-2.0-only OR MIT", 3)
    ]
