"""Where a training run reads from and writes to, resolved from the recipe and the release."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bigcode_release.errors import TrainingError
from bigcode_release.release_dir import CURRENT_LINK, built_versions
from bigcode_release.tokenizer.ds_format import read_metadata
from bigcode_release.tokenizer.shards import TOKENIZED_DIR
from bigcode_release.tokenizer.training import TOKENIZER_DIR
from bigcode_release.train.recipe import TrainRecipe

TRAIN_DIR = "train"


@dataclass(frozen=True)
class TrainInputs:
    """The tokenized splits, the tokenizer directory, and the vocabulary size."""

    tokenized_dir: Path
    train_dir: Path
    validation_dir: Path
    tokenizer_dir: Path
    tokenizer_name: str
    vocab_size: int
    token_size: int


def _dataset_version(release: Path, version: str | None) -> str:
    if version:
        return version
    link = release / CURRENT_LINK
    if link.exists():
        return link.resolve().name
    versions = built_versions(release)
    if not versions:
        raise TrainingError(f"{release} holds no dataset version: run `bigcode-release dataset build` first")
    return versions[-1].name


def resolve_inputs(recipe: TrainRecipe) -> TrainInputs:
    """The run's data and tokenizer; raises `TrainingError` naming what is missing and the command to make it."""
    release = recipe.data.release
    tokenized = recipe.data.tokenized or release / TOKENIZED_DIR / _dataset_version(
        release, recipe.data.dataset_version
    )
    train_dir, validation_dir = tokenized / "train", recipe.data.validation or tokenized / "validation"
    for folder in (train_dir, validation_dir):
        if not any(folder.glob("*.ds")):
            raise TrainingError(f"{folder} holds no tokenized shards: run `bigcode-release tokenize {release}` first")
    tokenizer_name, token_size, _ = read_metadata(sorted(train_dir.glob("*.ds"))[0])
    named = Path(tokenizer_name)
    tokenizer_dir = named if (named / "tokenizer.json").is_file() else release / TOKENIZER_DIR
    if not (tokenizer_dir / "tokenizer.json").is_file():
        raise TrainingError(
            f"the shards were tokenized with {tokenizer_name!r}, which is not a local tokenizer "
            f"directory, and {release / TOKENIZER_DIR} has none"
        )
    from tokenizers import Tokenizer

    vocab_size = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json")).get_vocab_size()
    if recipe.model.vocab_size not in (-1, vocab_size):
        raise TrainingError(
            f"model.vocab_size is {recipe.model.vocab_size} but the tokenizer has {vocab_size} "
            "tokens: set it to -1 to adopt the tokenizer's"
        )
    return TrainInputs(tokenized, train_dir, validation_dir, tokenizer_dir, tokenizer_name, vocab_size, token_size)


def default_run_dir(recipe: TrainRecipe) -> Path:
    """`<release>/train/<recipe name>`."""
    return recipe.data.release / TRAIN_DIR / recipe.name
