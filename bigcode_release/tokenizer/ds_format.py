"""Read and check datatrove's tokenized format, without datatrove.

A shard `NAME.ds` holds little-endian token ids (uint16 when `token_size` is 2, uint32 when 4);
`NAME.ds.index` the uint64 end offset (in tokens) of each document; `NAME.ds.metadata` three lines:
`tokenizer|token_size`, the token count, and a human-readable count.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bigcode_release.errors import TokenizedDataError

_DTYPES = {2: np.dtype("<u2"), 4: np.dtype("<u4")}


@dataclass(frozen=True)
class ShardInfo:
    """What a checked shard holds."""

    path: str
    tokenizer: str
    token_size: int
    tokens: int
    documents: int
    max_token_id: int

    def to_dict(self) -> dict:
        return asdict(self)


def read_metadata(ds_path: Path) -> tuple[str, int, int]:
    """`(tokenizer, token_size, token_count)` from `NAME.ds.metadata`."""
    path = Path(f"{ds_path}.metadata")
    if not path.is_file():
        raise TokenizedDataError(f"{path} is missing: every .ds shard needs its .ds.metadata")
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        tokenizer, token_size = lines[0].rsplit("|", 1)
        return tokenizer, int(token_size), int(lines[1])
    except (IndexError, ValueError):
        raise TokenizedDataError(
            f"{path}: expected 'tokenizer|token_size' then a token count, got {lines[:2]!r}"
        ) from None


def read_tokens(ds_path: Path, token_size: int) -> np.ndarray:
    """The shard's tokens as a read-only memory map."""
    if token_size not in _DTYPES:
        raise TokenizedDataError(f"{ds_path}: token size {token_size} is not 2 or 4")
    size = Path(ds_path).stat().st_size
    if size % token_size:
        raise TokenizedDataError(f"{ds_path}: {size} bytes is not a whole number of {token_size}-byte tokens")
    if size == 0:
        return np.zeros(0, dtype=_DTYPES[token_size])
    return np.memmap(ds_path, dtype=_DTYPES[token_size], mode="r")


def read_document_ends(ds_path: Path) -> np.ndarray:
    """The uint64 end offsets of the shard's documents."""
    path = Path(f"{ds_path}.index")
    if not path.is_file():
        raise TokenizedDataError(f"{path} is missing: every .ds shard needs its .ds.index")
    if path.stat().st_size % 8:
        raise TokenizedDataError(f"{path}: {path.stat().st_size} bytes is not a whole number of uint64 offsets")
    return np.fromfile(path, dtype="<u8")


def check_shard(ds_path: str | Path, vocab_size: int | None = None) -> ShardInfo:
    """Check one shard: metadata readable, token size matches, index strictly increasing and
    ending at the token count, the metadata's count right, every id below `vocab_size`."""
    ds_path = Path(ds_path)
    tokenizer, token_size, counted = read_metadata(ds_path)
    tokens = read_tokens(ds_path, token_size)
    ends = read_document_ends(ds_path)
    if counted != len(tokens):
        raise TokenizedDataError(f"{ds_path}: metadata says {counted} tokens, the file holds {len(tokens)}")
    if len(ends) and (np.any(np.diff(ends.astype(np.int64)) <= 0) or ends[0] == 0):
        raise TokenizedDataError(f"{ds_path}.index: document ends are not strictly increasing")
    if len(tokens) and (not len(ends) or int(ends[-1]) != len(tokens)):
        last = int(ends[-1]) if len(ends) else None
        raise TokenizedDataError(f"{ds_path}.index: last document ends at {last}, the file holds {len(tokens)} tokens")
    max_id = int(tokens.max()) if len(tokens) else -1
    if vocab_size is not None and max_id >= vocab_size:
        raise TokenizedDataError(f"{ds_path}: token id {max_id} is not below the vocabulary size {vocab_size}")
    return ShardInfo(str(ds_path), tokenizer, token_size, len(tokens), len(ends), max_id)


def check_folder(folder: str | Path, vocab_size: int | None = None) -> list[ShardInfo]:
    """Check every shard of a folder; they must share one tokenizer and token size."""
    shards = sorted(Path(folder).glob("*.ds"))
    if not shards:
        raise TokenizedDataError(f"{folder} holds no .ds shards")
    infos = [check_shard(path, vocab_size) for path in shards]
    kinds = {(info.tokenizer, info.token_size) for info in infos}
    if len(kinds) > 1:
        raise TokenizedDataError(f"{folder}: shards disagree on tokenizer/token size: {sorted(kinds)}")
    return infos


def iter_documents(ds_path: str | Path) -> Iterator[np.ndarray]:
    """Each document's tokens, in file order."""
    ds_path = Path(ds_path)
    _, token_size, _ = read_metadata(ds_path)
    tokens = read_tokens(ds_path, token_size)
    start = 0
    for end in read_document_ends(ds_path):
        yield np.asarray(tokens[start : int(end)])
        start = int(end)
