"""Training samples from tokenized shards: fixed windows of `sequence_length + 1` tokens read with
datatrove's `DatatroveFolderDataset`, visited in a seeded order that is a pure function of the
step, so a resumed run (or a run with another number of processes) sees the same samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from bigcode_release.errors import TrainingError
from bigcode_release.tokenizer.ds_format import check_folder
from bigcode_release.train.fim import FimTransform

IGNORE_INDEX = -100


class PackedSamples:
    """Windows of `sequence_length + 1` tokens over every `.ds` shard of a folder."""

    def __init__(self, folder: str | Path, sequence_length: int, vocab_size: int | None = None):
        from datatrove.utils.dataset import DatatroveFolderDataset

        infos = check_folder(folder, vocab_size)
        self.folder = Path(folder)
        self.tokenizer_name = infos[0].tokenizer
        self.tokens = sum(info.tokens for info in infos)
        self.dataset = DatatroveFolderDataset(
            str(folder),
            seq_len=sequence_length,
            filename_pattern="*.ds",
            recursive=False,
            token_size=infos[0].token_size,
        )
        if len(self.dataset) == 0:
            raise TrainingError(f"{folder} holds {self.tokens} tokens: not one sample of {sequence_length + 1}")

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.dataset[index]["input_ids"].numpy()


class SampleOrder:
    """Global position -> sample index: a new seeded permutation of all samples each epoch."""

    def __init__(self, n_samples: int, seed: int):
        self.n_samples = n_samples
        self.seed = seed
        self._epoch, self._permutation = -1, np.empty(0, dtype=np.int64)

    def __getitem__(self, position: int) -> int:
        epoch, offset = divmod(position, self.n_samples)
        if epoch != self._epoch:
            self._epoch, self._permutation = (
                epoch,
                np.random.default_rng([self.seed, epoch]).permutation(self.n_samples),
            )
        return int(self._permutation[offset])


def rank_positions(step: int, global_batch: int, rank: int, world_size: int) -> range:
    """The global positions one rank trains on at `step` (its contiguous share of the global batch)."""
    per_rank = global_batch // world_size
    start = step * global_batch + rank * per_rank
    return range(start, start + per_rank)


def make_batch(samples: list[np.ndarray], pad_id: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """`(input_ids, labels)` from windows of `sequence_length + 1`; pads are ignored by the loss."""
    window = torch.from_numpy(np.stack(samples).astype(np.int64))
    inputs, labels = window[:, :-1].contiguous(), window[:, 1:].clone()
    if pad_id is not None:
        labels[labels == pad_id] = IGNORE_INDEX
    return inputs, labels


class TrainStream:
    """Micro batches for one rank: samples in `SampleOrder`, FIM applied per sample index."""

    def __init__(self, samples: PackedSamples, order: SampleOrder, fim: FimTransform | None, micro_batch: int):
        self.samples = samples
        self.order = order
        self.fim = fim
        self.micro_batch = micro_batch

    def micro_batches(self, positions: range) -> list[tuple[torch.Tensor, torch.Tensor]]:
        windows = []
        for position in positions:
            index = self.order[position]
            window = self.samples[index]
            windows.append(self.fim(window, position) if self.fim else window)
        pad = self.fim.ids.pad if self.fim else None
        return [make_batch(windows[i : i + self.micro_batch], pad) for i in range(0, len(windows), self.micro_batch)]
