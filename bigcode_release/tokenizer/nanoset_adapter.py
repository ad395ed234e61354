"""Let nanotron main's `Nanoset` read shards with the released datatrove.

Nanoset builds one `DatatroveFolderDataset` per folder with keyword names older than datatrove
0.7 (`folder_path=`, an absolute `filename_pattern`) and, on nanotron main, `eos_token_id=` which
no released datatrove accepts (0.10 calls it `positions_from_eos_token_id`). `install()` binds the
name inside `nanotron.data.nanoset` to `NanotronFolderDataset`, which translates the call.

Usage, before nanotron builds its dataloader:

    from bigcode_release.tokenizer.nanoset_adapter import install
    install()
"""

from __future__ import annotations

import os
import types
from typing import Any

from datatrove.utils.dataset import DatatroveFolderDataset


class NanotronFolderDataset(DatatroveFolderDataset):
    """`DatatroveFolderDataset` accepting the keywords nanotron's `Nanoset` passes."""

    def __init__(
        self,
        folder_path: str | None = None,
        seq_len: int | None = None,
        *,
        filename_pattern: str = "*.ds",
        eos_token_id: int | None = None,
        **kwargs: Any,
    ):
        data_folder = kwargs.pop("data_folder", folder_path)
        if data_folder is None or seq_len is None:
            raise TypeError("NanotronFolderDataset needs a folder (folder_path or data_folder) and seq_len")
        if os.path.isabs(filename_pattern):
            # nanotron passes os.path.join(folder, "*.ds"); datatrove globs relative to the folder
            filename_pattern = os.path.relpath(filename_pattern, str(data_folder))
        if eos_token_id is not None:
            kwargs.setdefault("positions_from_eos_token_id", eos_token_id)
        super().__init__(data_folder, seq_len, filename_pattern=filename_pattern, **kwargs)


def install(nanoset_module: types.ModuleType | None = None) -> types.ModuleType:
    """Point `nanotron.data.nanoset.DatatroveFolderDataset` at the adapter; returns the module."""
    if nanoset_module is None:
        import nanotron.data.nanoset as nanoset_module
    nanoset_module.DatatroveFolderDataset = NanotronFolderDataset
    return nanoset_module
