"""The tokenizer and the tokenized shards: StarCoder's special tokens, a transformers-loadable
directory, fertility, datatrove's .ds format checked by our own reader, the Nanoset adapter."""

from __future__ import annotations

import json
import os
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from bigcode_release.errors import TokenizedDataError, TokenizerError
from bigcode_release.tokenizer.ds_format import check_folder, check_shard, iter_documents
from bigcode_release.tokenizer.special_tokens import SPECIAL_TOKENS
from bigcode_release.tokenizer.training import train_tokenizer
from tests.conftest import run_cli, run_cli_json
from tests.nanotron_venv import run_in_nanotron

pytestmark = pytest.mark.slow


def test_tokenizer_has_starcoders_special_tokens_first_and_splits_digits(tokenized_release):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenized_release / "tokenizer")
    assert tokenizer.convert_tokens_to_ids(list(SPECIAL_TOKENS)) == list(range(len(SPECIAL_TOKENS)))
    assert tokenizer.eos_token == "<|endoftext|>" and len(tokenizer) == 600
    ids = tokenizer("x = 2024 <fim_middle>")["input_ids"]
    pieces = tokenizer.convert_ids_to_tokens(ids)
    assert [p for p in pieces if p.strip("Ġ").isdigit()] == ["2", "0", "2", "4"]
    assert pieces[-1] == "<fim_middle>"
    text = "def héllo(name):\n    return f'hi {name}' # ünïcödé 123\n"
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text


def test_tokenizer_reports_fertility_per_language_on_held_out_documents(tokenized_release):
    folder = tokenized_release / "tokenizer"
    rows = json.loads((folder / "fertility.json").read_text())
    assert rows[-1]["language"] == "all" and "python" in {r["language"] for r in rows}
    for row in rows:
        assert row["chars_per_token"] == pytest.approx(row["characters"] / row["tokens"], abs=1e-3)
        assert row["chars_per_token"] > 1.0
    assert (folder / "fertility.png").stat().st_size > 0
    manifest = json.loads((folder / "manifest.json").read_text())
    dataset = json.loads((tokenized_release / "dataset" / "manifest.json").read_text())
    assert manifest["inputs"]["dataset_manifest_hash"] == dataset["manifest_hash"]
    assert manifest["counts"]["heldout_documents"] > 0 and manifest["fertility_on"] == "held-out documents"


def test_the_same_sample_and_seed_train_the_same_tokenizer(tokenized_release, tmp_path):
    train_tokenizer(tokenized_release, vocab_size=600, sample_mb=1, out_dir=tmp_path / "again", progress=False)
    assert (tmp_path / "again" / "tokenizer.json").read_bytes() == (
        tokenized_release / "tokenizer" / "tokenizer.json"
    ).read_bytes()


def test_too_small_a_vocabulary_is_refused_before_any_work(tmp_path):
    with pytest.raises(TokenizerError, match="at least 276"):
        train_tokenizer(tmp_path, vocab_size=100)
    result = run_cli("tokenizer", "train", str(tmp_path), "--vocab-size", "100", check=False)
    assert result.returncode == 2 and "--vocab-size 100 is too small" in result.stderr


def test_tokenized_shards_hold_every_document_once_with_end_of_text(tokenized_release):
    from tokenizers import Tokenizer

    folder = next((tokenized_release / "tokenized").iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    counts = manifest["counts"]
    dataset_rows = pq.read_table(tokenized_release / "dataset" / "data", columns=["text"])
    assert counts["train_documents"] + counts["validation_documents"] == dataset_rows.num_rows
    assert counts["validation_documents"] > 0
    tokenizer = Tokenizer.from_file(str(tokenized_release / "tokenizer" / "tokenizer.json"))
    texts = set(dataset_rows.column("text").to_pylist())
    for split in ("train", "validation"):
        infos = check_folder(folder / split, vocab_size=600)
        assert sum(i.documents for i in infos) == counts[f"{split}_documents"]
        assert infos[0].tokenizer == str((tokenized_release / "tokenizer").resolve()) and infos[0].token_size == 2
        decoded = [tokenizer.decode(doc.tolist(), skip_special_tokens=False) for doc in iter_documents(infos[0].path)]
        assert all(text.endswith("<|endoftext|>") for text in decoded)
        assert {text.removesuffix("<|endoftext|>") for text in decoded} <= texts


def test_tokenize_again_resumes_and_cli_reports_json(tokenized_release):
    folder = next((tokenized_release / "tokenized").iterdir())
    before = json.loads((folder / "manifest.json").read_text())
    report = run_cli_json("tokenize", str(tokenized_release), "--validation-fraction", "0.05")
    after = json.loads((folder / "manifest.json").read_text())
    assert after["manifest_hash"] == before["manifest_hash"]
    assert report["splits"]["train"]["tokens"] == before["counts"]["train_tokens"]


def _copy_shard(tokenized_release: Path, tmp_path: Path) -> Path:
    source = next(next((tokenized_release / "tokenized").iterdir()).joinpath("validation").glob("*.ds"))
    for suffix in ("", ".index", ".metadata"):
        shutil.copy(f"{source}{suffix}", tmp_path / f"{source.name}{suffix}")
    return tmp_path / source.name


@pytest.mark.parametrize(
    "damage,message",
    [
        ("truncate", "not a whole number of 2-byte tokens"),
        ("index_order", "not strictly increasing"),
        ("index_short", "last document ends at"),
        ("metadata_count", "metadata says"),
        ("big_token", "not below the vocabulary size 600"),
        ("no_index", ".ds.index is missing"),
    ],
)
def test_our_reader_names_each_kind_of_damage(tokenized_release, tmp_path, damage, message):
    shard = _copy_shard(tokenized_release, tmp_path)
    check_shard(shard, vocab_size=600)
    index = Path(f"{shard}.index")
    if damage == "truncate":
        shard.write_bytes(shard.read_bytes()[:-1])
    elif damage == "index_order":
        ends = np.fromfile(index, dtype="<u8")
        ends[[0, 1]] = ends[[1, 0]]
        ends.tofile(index)
    elif damage == "index_short":
        np.fromfile(index, dtype="<u8")[:-1].tofile(index)
    elif damage == "metadata_count":
        lines = Path(f"{shard}.metadata").read_text().splitlines()
        Path(f"{shard}.metadata").write_text("\n".join([lines[0], "7", lines[2]]))
    elif damage == "big_token":
        tokens = np.fromfile(shard, dtype="<u2")
        tokens[3] = 599 + 1
        tokens.tofile(shard)
    else:
        index.unlink()
    with pytest.raises(TokenizedDataError, match=message) as error:
        check_shard(shard, vocab_size=600)
    assert shard.name in str(error.value)


@pytest.fixture
def adapter():
    """The adapter module, with datatrove's class put back afterwards (`install` replaces it)."""
    from datatrove.utils import dataset

    from bigcode_release.tokenizer import nanotron_adapter

    had_url_to_fs = hasattr(dataset, "url_to_fs")
    yield nanotron_adapter
    dataset.DatatroveFolderDataset = nanotron_adapter.RELEASED_FOLDER_DATASET
    if not had_url_to_fs and hasattr(dataset, "url_to_fs"):
        del dataset.url_to_fs


def _train_folder(tokenized_release) -> str:
    return str(next((tokenized_release / "tokenized").iterdir()) / "train")


def _our_tokens(folder: str, seq_len: int) -> list[np.ndarray]:
    """Our reader's view: the shards' tokens in file order, cut into samples of seq_len + 1."""
    samples = []
    for shard in sorted(Path(folder).glob("*.ds")):
        tokens = np.concatenate(list(iter_documents(shard)))
        samples += [tokens[i : i + seq_len + 1] for i in range(0, len(tokens) - seq_len, seq_len + 1)]
    return samples


def _tokenized_bytes_reader(base: type) -> type:
    """A subclass shaped as nanotron main's `TokenizedBytesFolderDataset` (2411b022): its base bound
    at class creation, its call to it keyword by keyword, and the attributes nanotron reads back."""

    class TokenizedBytesFolderDataset(base):
        def __init__(self, folder_path, seq_len, filename_pattern=None, recursive=True, token_size=2, max_tokens=None,
                     shuffle=False, seed=42, return_positions=False, eos_token_id=None, folder_read_path=None):  # fmt: skip
            super().__init__(
                folder_path=folder_path,
                seq_len=seq_len,
                filename_pattern=filename_pattern,
                recursive=recursive,
                token_size=token_size,
                max_tokens=max_tokens,
                shuffle=shuffle,
                seed=seed,
                return_positions=return_positions,
                eos_token_id=eos_token_id,
                read_path=folder_read_path,
                matched_files=None,
                file_sizes=None,
            )
            self.files_order = [str(f.file_path) for f in self.files]

    return TokenizedBytesFolderDataset


def test_the_call_nanotron_main_makes_is_the_one_pinned(adapter):
    """The facts of nanotron main's source the adapter is built on; the released datatrove lacks them."""
    assert adapter.TOKENIZED_BYTES_CALL == (
        "folder_path", "seq_len", "filename_pattern", "recursive", "token_size", "max_tokens", "shuffle", "seed",
        "return_positions", "eos_token_id", "read_path", "matched_files", "file_sizes",
    )  # fmt: skip
    assert not adapter.has_nanotron_signature(adapter.RELEASED_FOLDER_DATASET)
    assert adapter.has_nanotron_signature(adapter.NanotronFolderDataset)


def test_nanotron_mains_tokenized_bytes_reader_reads_our_shards_as_our_reader_does(tokenized_release, adapter):
    from datatrove.utils import dataset

    folder = _train_folder(tokenized_release)
    call = dict(folder_path=folder, seq_len=64, filename_pattern="*.ds", recursive=False, eos_token_id=0)
    with pytest.raises(TypeError, match="folder_path"):  # without the adapter: nanotron main's failure
        _tokenized_bytes_reader(dataset.DatatroveFolderDataset)(**call)
    assert adapter.install(types.SimpleNamespace(__name__="nanoset")) == [
        "datatrove.utils.dataset.DatatroveFolderDataset",
        "datatrove.utils.dataset.url_to_fs",  # nanotron's s3:// listing imports it from datatrove's module
        "nanoset.DatatroveFolderDataset",
    ]
    from datatrove.utils.dataset import url_to_fs  # noqa: F401  (what nanotron main imports)

    reader = _tokenized_bytes_reader(dataset.DatatroveFolderDataset)(**call, return_positions=True)
    ours = _our_tokens(folder, 64)
    assert len(reader) == len(ours) == reader.lens[-1] and reader.folder_path == folder
    for index in (0, 1, len(ours) // 2, len(ours) - 1):
        sample = reader[index]
        assert np.array_equal(sample["input_ids"].numpy(), ours[index])
        ids, positions = sample["input_ids"].numpy(), sample["positions"].numpy()
        for at in np.flatnonzero(ids[:-1] == 0):  # positions restart after each end-of-text
            assert positions[at + 1] == 0
    assert reader.current_file_path == reader.files[reader.current_file].file_path
    assert reader.files_order == [str(p) for p in sorted(Path(folder).glob("*.ds"))]
    limited = _tokenized_bytes_reader(dataset.DatatroveFolderDataset)(**call, max_tokens=65 * 3 + 10)
    assert len(limited) == 3 and np.array_equal(limited[2]["input_ids"].numpy(), ours[2])
    shuffled = [_tokenized_bytes_reader(dataset.DatatroveFolderDataset)(**call, shuffle=True, seed=3) for _ in "ab"]
    assert shuffled[0].files_order == shuffled[1].files_order


def test_an_already_imported_reader_is_rebased_and_the_nanoset_call_works(tokenized_release, adapter, monkeypatch):
    from datatrove.utils import dataset

    folder = _train_folder(tokenized_release)
    module = types.ModuleType("nanotron.data.tokenized_bytes")
    module.TokenizedBytesFolderDataset = _tokenized_bytes_reader(dataset.DatatroveFolderDataset)  # bound before
    monkeypatch.setitem(sys.modules, "nanotron.data.tokenized_bytes", module)
    nanoset = types.SimpleNamespace(
        __name__="nanotron.data.nanoset", DatatroveFolderDataset=dataset.DatatroveFolderDataset
    )
    assert "nanotron.data.tokenized_bytes.TokenizedBytesFolderDataset" in adapter.install(nanoset)
    reader = module.TokenizedBytesFolderDataset(folder_path=folder, seq_len=64, filename_pattern="*.ds")
    assert np.array_equal(reader[1]["input_ids"].numpy(), _our_tokens(folder, 64)[1])
    nanoset_call = dict(  # the keywords nanotron main's `Nanoset.__init__` passes
        folder_path=folder, filename_pattern=os.path.join(folder, "*.ds"), seq_len=64, recursive=False, token_size=2,
        shuffle=True, return_positions=True, eos_token_id=0,
    )  # fmt: skip
    sample = nanoset.DatatroveFolderDataset(**nanoset_call)[5]
    assert sample["input_ids"].shape == (65,) and sample["positions"].shape == (65,)


@pytest.mark.nanotron
def test_nanotron_mains_own_builder_reads_our_shards(tokenized_release):
    """nanotron main's own `build_dataset` (what `run_train.py` calls), imported after `install()` as
    `nanotron_entry` does, against our reader (tests/nanotron_venv.py says where nanotron comes from)."""
    folder = _train_folder(tokenized_release)
    answer = run_in_nanotron(
        f"""
from bigcode_release.tokenizer.nanotron_adapter import install
changed = install()
from nanotron.data.tokenized_bytes import build_dataset
dataset = build_dataset({folder!r}, seq_length=64, token_size=2, eos_token_id=0, return_positions=True)
answer = {{"changed": changed, "kind": type(dataset).__name__, "len": len(dataset),
    "samples": [dataset[i]["input_ids"].tolist() for i in (0, 1, len(dataset) - 1)],
    "positions": dataset[1]["positions"].tolist(), "order": [str(f.file_path) for f in dataset.files]}}
"""
    )
    ours = _our_tokens(folder, 64)
    assert answer["changed"][0] == "datatrove.utils.dataset.DatatroveFolderDataset"
    assert answer["kind"] == "TokenizedBytesFolderDataset" and answer["len"] == len(ours)
    assert answer["samples"] == [ours[0].tolist(), ours[1].tolist(), ours[-1].tolist()]
    assert answer["order"] == [str(p) for p in sorted(Path(folder).glob("*.ds"))]
    for at in np.flatnonzero(np.asarray(answer["samples"][1][:-1]) == 0):
        assert answer["positions"][at + 1] == 0


@pytest.mark.gpu
def test_nanotron_nanoset_reads_our_shards_with_the_adapter(tokenized_release):
    """Needs nanotron main installed (GPU environment); skipped in CI, where nanotron cannot import."""
    from bigcode_release.tokenizer.nanotron_adapter import install

    install()
    import nanotron.data.nanoset as nanoset

    folder = _train_folder(tokenized_release)
    dataset = nanoset.Nanoset([folder], 64, 2, train_split_num_samples=20, eos_token_id=0)
    assert len(dataset) == 20 and dataset[0]["input_ids"].shape == (65,)


def test_tokenize_never_replaces_a_folder_that_is_not_tokenized_shards(tokenized_release):
    before = (tokenized_release / "tokenizer" / "manifest.json").read_text()
    refused = run_cli("tokenize", str(tokenized_release), "--out", str(tokenized_release / "tokenizer"), check=False)
    assert refused.returncode == 2 and "not tokenized shards" in refused.stderr
    assert (tokenized_release / "tokenizer" / "manifest.json").read_text() == before
