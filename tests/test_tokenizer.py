"""The tokenizer and the tokenized shards: StarCoder's special tokens, a transformers-loadable
directory, fertility, datatrove's .ds format checked by our own reader, the Nanoset adapter."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from bigcode_release.errors import TokenizedDataError, TokenizerError
from bigcode_release.tokenizer.ds_format import check_folder, check_shard, iter_documents
from bigcode_release.tokenizer.special_tokens import SPECIAL_TOKENS
from bigcode_release.tokenizer.training import train_tokenizer
from tests.conftest import run_cli, run_cli_json

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


def test_the_adapter_lets_nanotron_mains_nanoset_call_read_our_shards(tokenized_release):
    """The keywords are those nanotron main (2411b022) passes in `Nanoset.__init__`."""
    import os
    import types

    from datatrove.utils.dataset import DatatroveFolderDataset

    from bigcode_release.tokenizer.nanoset_adapter import NanotronFolderDataset, install

    folder = str(next((tokenized_release / "tokenized").iterdir()) / "train")
    nanoset_call = dict(
        folder_path=folder,
        filename_pattern=os.path.join(folder, "*.ds"),
        seq_len=64,
        recursive=False,
        token_size=2,
        shuffle=True,
        return_positions=True,
        eos_token_id=0,
    )
    with pytest.raises(TypeError, match="folder_path"):
        DatatroveFolderDataset(**nanoset_call)
    dataset = NanotronFolderDataset(**nanoset_call)
    sample = dataset[5]
    assert sample["input_ids"].shape == (65,) and sample["positions"].shape == (65,)
    ids, positions = sample["input_ids"].numpy(), sample["positions"].numpy()
    for at in np.flatnonzero(ids[:-1] == 0):  # positions restart after each end-of-text
        assert positions[at + 1] == 0
    module = types.SimpleNamespace(DatatroveFolderDataset=DatatroveFolderDataset)
    assert install(module).DatatroveFolderDataset is NanotronFolderDataset


@pytest.mark.gpu
def test_nanotron_nanoset_reads_our_shards_with_the_adapter(tokenized_release):
    """Needs nanotron main installed (GPU environment); skipped in CI, where nanotron cannot import."""
    from bigcode_release.tokenizer.nanoset_adapter import install

    nanoset = install()
    folder = str(next((tokenized_release / "tokenized").iterdir()) / "train")
    dataset = nanoset.Nanoset([folder], 64, 2, train_split_num_samples=20, eos_token_id=0)
    assert len(dataset) == 20 and dataset[0]["input_ids"].shape == (65,)


def test_tokenize_never_replaces_a_folder_that_is_not_tokenized_shards(tokenized_release):
    before = (tokenized_release / "tokenizer" / "manifest.json").read_text()
    refused = run_cli("tokenize", str(tokenized_release), "--out", str(tokenized_release / "tokenizer"), check=False)
    assert refused.returncode == 2 and "not tokenized shards" in refused.stderr
    assert (tokenized_release / "tokenizer" / "manifest.json").read_text() == before
