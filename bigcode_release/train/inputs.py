"""Where a training run reads from and writes to, resolved from the recipe and the release."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bigcode_release.errors import TrainingError
from bigcode_release.layout import ReleaseLayout
from bigcode_release.manifest import read_manifest
from bigcode_release.tokenizer.ds_format import read_metadata
from bigcode_release.train.recipe import TrainRecipe


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


def _tokenizer_dir(layout: ReleaseLayout, tokenizer_name: str, tokenized: Path) -> Path:
    """The tokenizer the shards were made with: the release's own when its manifest is the one the
    tokenized manifest names (a moved or copied release still uses its own), else the directory
    named in `.ds.metadata`."""
    wanted = (read_manifest(tokenized) or {}).get("inputs", {}).get("tokenizer_manifest_hash")
    candidates = [layout.tokenizer_dir, Path(tokenizer_name)]
    for candidate in candidates:
        if (candidate / "tokenizer.json").is_file() and (
            not wanted or (read_manifest(candidate) or {}).get("manifest_hash") == wanted
        ):
            return candidate
    raise TrainingError(
        f"the shards were tokenized with {tokenizer_name!r}, which is not a local tokenizer "
        f"directory, and {layout.tokenizer_dir} holds no matching tokenizer"
    )


def resolve_inputs(recipe: TrainRecipe) -> TrainInputs:
    """The run's data and tokenizer; raises `TrainingError` naming what is missing and the command to make it."""
    layout = ReleaseLayout.at(recipe.data.release)
    if recipe.data.tokenized:
        tokenized = recipe.data.tokenized
    else:
        version = recipe.data.dataset_version or layout.current_version()
        if version is None:
            raise TrainingError(f"{layout.root} holds no dataset version: run `bigcode-release dataset build` first")
        tokenized = layout.tokenized_dir(version)
    train_dir, validation_dir = tokenized / "train", recipe.data.validation or tokenized / "validation"
    for folder in (train_dir, validation_dir):
        if not any(folder.glob("*.ds")):
            raise TrainingError(
                f"{folder} holds no tokenized shards: run `bigcode-release tokenize {layout.root}` first"
            )
    tokenizer_name, token_size, _ = read_metadata(sorted(train_dir.glob("*.ds"))[0])
    tokenizer_dir = _tokenizer_dir(layout, tokenizer_name, tokenized)
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
    return ReleaseLayout.at(recipe.data.release).run_dir(recipe.name)
