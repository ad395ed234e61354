"""Let nanotron main's two data readers read our shards with the released datatrove (0.10.1).

Checked against nanotron main 2411b022 (run beside datatrove 0.10.1):

- `run_train.py` builds its dataset with `nanotron.data.tokenized_bytes.build_dataset`, whose
  `TokenizedBytesFolderDataset` subclasses datatrove's `DatatroveFolderDataset` and calls
  `super().__init__(folder_path=, seq_len=, filename_pattern=, recursive=, token_size=, max_tokens=,
  shuffle=, seed=, return_positions=, eos_token_id=, read_path=, matched_files=, file_sizes=)`: the
  signature of an unreleased datatrove branch (commit 2c895af7, PR #367); 0.10.1 takes `data_folder`
  and `positions_from_eos_token_id` and has no `max_tokens`. It then reads `lens`, `files[i].file_path`,
  `folder_path` (as the configured string) and `current_file_path`.
- The older `Nanoset` (`nanotron.data.nanoset`) passes `folder_path=`, an absolute
  `filename_pattern` and `eos_token_id=`.

`NanotronFolderDataset` accepts both calls and 0.10.1's own. A base class is bound when the
subclass is created, so `install()` must run before `nanotron.data.tokenized_bytes` is imported: it
replaces `datatrove.utils.dataset.DatatroveFolderDataset`; where nanotron's module is already
imported, it re-bases `TokenizedBytesFolderDataset` on the adapter instead. Where the installed
datatrove already has the branch's signature, it does nothing.

Usage, before nanotron is imported (`bigcode_release.train.nanotron_entry` does this):

    from bigcode_release.tokenizer.nanotron_adapter import install
    install()
"""

from __future__ import annotations

import inspect
import os
import sys
import types

import numpy as np
from datatrove.utils import dataset as datatrove_dataset
from datatrove.utils.dataset import DatatroveFileDataset

RELEASED_FOLDER_DATASET = datatrove_dataset.DatatroveFolderDataset
# the keywords nanotron main (2411b022) passes to the base class: a fact of its source, pinned here
TOKENIZED_BYTES_CALL = (
    "folder_path",
    "seq_len",
    "filename_pattern",
    "recursive",
    "token_size",
    "max_tokens",
    "shuffle",
    "seed",
    "return_positions",
    "eos_token_id",
    "read_path",
    "matched_files",
    "file_sizes",
)


def has_nanotron_signature(cls: type) -> bool:
    """Whether a `DatatroveFolderDataset` already takes every keyword nanotron main passes."""
    parameters = inspect.signature(cls.__init__).parameters
    return all(name in parameters for name in TOKENIZED_BYTES_CALL)


class NanotronFolderDataset(RELEASED_FOLDER_DATASET):
    """datatrove 0.10.1's `DatatroveFolderDataset`, also taking the keywords nanotron main's readers pass."""

    def __init__(
        self,
        data_folder=None,
        seq_len: int | None = None,
        filename_pattern: str | None = "*.ds",
        recursive: bool = True,
        token_size: int = 2,
        shuffle: bool = False,
        seed: int = 42,
        return_positions: bool = False,
        positions_from_eos_token_id: int | None = None,
        paths_file: str | None = None,
        *,
        folder_path: str | None = None,
        eos_token_id: int | None = None,
        max_tokens: int | None = None,
        read_path: str | None = None,
        matched_files: list[str] | None = None,
        file_sizes: dict[str, int] | None = None,
    ):
        folder = data_folder if data_folder is not None else folder_path
        if folder is None or seq_len is None:
            raise TypeError("NanotronFolderDataset needs a folder (data_folder or folder_path) and seq_len")
        self._configured_folder = folder if isinstance(folder, str) else None
        if isinstance(filename_pattern, str) and isinstance(folder, str) and os.path.isabs(filename_pattern):
            filename_pattern = os.path.relpath(filename_pattern, folder)  # Nanoset: os.path.join(folder, "*.ds")
        if positions_from_eos_token_id is None:
            positions_from_eos_token_id = eos_token_id
        self._matched_files, self._file_sizes = matched_files, file_sizes or {}
        super().__init__(
            folder,
            seq_len,
            filename_pattern=filename_pattern,
            recursive=recursive,
            token_size=token_size,
            shuffle=False,  # after the token limit, as nanotron's datatrove does
            seed=seed,
            return_positions=return_positions,
            positions_from_eos_token_id=positions_from_eos_token_id,
            paths_file=paths_file,
        )
        self.eos_token_id = positions_from_eos_token_id
        self._limit_tokens(max_tokens)
        if read_path:
            self._read_from(read_path)
        if shuffle:
            ordering = np.random.default_rng(seed).permutation(range(len(self.files)))
            self.files = [self.files[i] for i in ordering]
        self.lens = np.cumsum([0] + [len(f) for f in self.files]).tolist()

    def _load_file_list(self) -> None:
        if self._matched_files is None:
            super()._load_file_list()
            for file in self.files:  # full paths on the folder's own filesystem, as nanotron reads them
                file.fs, file.file_path = self.data_folder.fs, self.data_folder.resolve_paths(file.file_path)
                file.read_path = None
            return
        if not self._matched_files:
            raise FileNotFoundError(f"no files given in matched_files for {self.folder_path}")
        self.files = []
        for path in self._matched_files:
            file = DatatroveFileDataset(
                self.data_folder.fs.unstrip_protocol(path),
                self.seq_len,
                token_size=self.token_size,
                return_positions=self.return_positions,
                positions_from_eos_token_id=self.positions_from_eos_token_id,
                fsize=self._file_sizes.get(path),
            )
            file.read_path = None
            self.files.append(file)

    def _limit_tokens(self, max_tokens: int | None) -> None:
        """Read at most `max_tokens` tokens: whole samples, files in order, later files dropped."""
        if not max_tokens:
            return
        remaining, kept = max_tokens, []
        for file in self.files:
            file._len = min(len(file), remaining // (self.seq_len + 1))
            kept.append(file)
            remaining -= len(file) * (self.seq_len + 1)
            if remaining < self.seq_len + 1:  # not one more whole sample
                break
        self.files = kept

    def _read_from(self, read_path: str) -> None:
        """Read each file from its copy under `read_path` (its length was taken from the original)."""
        root = self.data_folder.path
        for file in self.files:
            file.read_path = os.path.join(read_path, os.path.relpath(file.file_path, root))
            file.fs, file.file_path = datatrove_dataset.get_fs_with_filepath(file.read_path)

    @property
    def folder_path(self) -> str:
        """The folder as configured (nanotron keys consumed tokens by it)."""
        return self._configured_folder or self.data_folder.resolve_paths("")

    @property
    def current_file_path(self) -> str:
        file = self.files[self.current_file]
        return file.read_path if file.read_path is not None else file.file_path


def install(nanoset_module: types.ModuleType | None = None) -> list[str]:
    """Make nanotron main's readers take the adapter; returns what was changed (nothing where the
    installed datatrove already has nanotron's signature).

    Run before `nanotron.data.tokenized_bytes` is imported; an already imported one is re-based.
    `nanoset_module` is `nanotron.data.nanoset` (imported here when it can be).
    """
    if has_nanotron_signature(RELEASED_FOLDER_DATASET):
        return []
    changed = ["datatrove.utils.dataset.DatatroveFolderDataset"]
    datatrove_dataset.DatatroveFolderDataset = NanotronFolderDataset
    if not hasattr(datatrove_dataset, "url_to_fs"):  # nanotron's s3:// listing imports it from there
        from fsspec.core import url_to_fs

        datatrove_dataset.url_to_fs = url_to_fs
        changed.append("datatrove.utils.dataset.url_to_fs")
    tokenized_bytes = sys.modules.get("nanotron.data.tokenized_bytes")
    if tokenized_bytes is not None:
        reader = tokenized_bytes.TokenizedBytesFolderDataset
        if reader.__bases__ == (RELEASED_FOLDER_DATASET,):
            reader.__bases__ = (NanotronFolderDataset,)
            changed.append("nanotron.data.tokenized_bytes.TokenizedBytesFolderDataset")
    if nanoset_module is None:
        try:
            import nanotron.data.nanoset as nanoset_module
        except ImportError:  # nanotron without the Nanoset reader, or not installed
            nanoset_module = None
    if nanoset_module is not None:
        nanoset_module.DatatroveFolderDataset = NanotronFolderDataset
        changed.append(f"{nanoset_module.__name__}.DatatroveFolderDataset")
    return changed
