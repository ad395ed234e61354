"""datatrove steps of the tokenization pipeline: pick a split, tokenize with a tokenizer
directory, count progress."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import xxhash
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.tokens.tokenizer import DocumentTokenizer
from tokenizers import Tokenizer
from tokenizers.processors import TemplateProcessing

from bigcode_release.data.progress import ProgressFile

SPLITS = ("train", "validation")


def in_validation(document_id: str, fraction: float, seed: int) -> bool:
    """Whether a document belongs to the validation split: a seeded hash of its id, so the split
    does not depend on task count or order."""
    return xxhash.xxh64_intdigest(f"{seed}:{document_id}") < fraction * 2**64


class SplitSelector(PipelineStep):
    """Keep the documents of one split (`train` or `validation`); report progress."""

    name = "🔀 split"
    type = "🔢 - TOKENIZER"

    def __init__(self, split: str, validation_fraction: float, seed: int, progress_dir: str | None = None):
        super().__init__()
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.split = split
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.progress_dir = progress_dir

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        progress = ProgressFile(self.progress_dir, rank)
        want_validation = self.split == "validation"
        for document in data:
            progress.update(files=1, nbytes=len(document.text))
            if in_validation(document.id, self.validation_fraction, self.seed) == want_validation:
                self.stat_update("kept")
                yield document
            else:
                self.stat_update("other_split")
        progress.close()


class DirectoryTokenizer(DocumentTokenizer):
    """datatrove's `DocumentTokenizer` over a local transformers tokenizer directory.

    datatrove loads a tokenizer from a `tokenizer.json` file or the Hub; nanotron's `Nanoset`
    loads the name written in `.ds.metadata` with `AutoTokenizer`, which needs a directory (or a
    Hub id). This step reads the directory's `tokenizer.json` and writes `metadata_name` (default:
    the directory) into the metadata, so both can read the shards.
    """

    def __init__(self, output_folder: str, tokenizer_dir: str, metadata_name: str | None = None, **kwargs):
        super().__init__(output_folder, tokenizer_name_or_path=metadata_name or str(tokenizer_dir), **kwargs)
        self.tokenizer_dir = str(tokenizer_dir)

    @cached_property
    def tokenizer(self) -> Tokenizer:
        tokenizer = Tokenizer.from_file(str(Path(self.tokenizer_dir) / "tokenizer.json"))
        if self.eos_token:
            tokenizer.post_processor = TemplateProcessing(
                single="$A <EOS>", special_tokens=[("<EOS>", tokenizer.token_to_id(self.eos_token))], pair=None
            )
        return tokenizer
