"""Train StarCoder's kind of tokenizer on a dataset version: byte-level BPE, digits split one by
one, StarCoder's special tokens first, saved as a transformers tokenizer directory."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from bigcode_release.errors import TokenizerError
from bigcode_release.layout import ReleaseLayout
from bigcode_release.manifest import describe_outputs, read_manifest, tool_versions, write_manifest
from bigcode_release.tokenizer.fertility import fertility_by_language, write_fertility_plot
from bigcode_release.tokenizer.sample import split_sample
from bigcode_release.tokenizer.special_tokens import END_OF_TEXT, SPECIAL_TOKENS

MIN_VOCAB_SIZE = 256 + len(SPECIAL_TOKENS)


@dataclass(frozen=True)
class TokenizerReport:
    """What a tokenizer training run produced and measured."""

    output_dir: str
    vocab_size: int
    dataset_version: str
    dataset_manifest_hash: str
    sample_documents: int
    sample_bytes: int
    seed: int
    train_seconds: float
    fertility: list[dict]
    fertility_on: str

    def to_dict(self) -> dict:
        return asdict(self)


def new_bpe_tokenizer() -> Tokenizer:
    """An untrained byte-level BPE with single-digit pre-tokenization, as StarCoder's."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    return tokenizer


def train_bpe(texts: list[str], vocab_size: int, progress: bool = False) -> Tokenizer:
    """A byte-level BPE with StarCoder's special tokens (ids 0..19) trained on `texts`."""
    tokenizer = new_bpe_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=progress,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(texts, trainer, length=len(texts))
    return tokenizer


def save_transformers_tokenizer(tokenizer: Tokenizer, out_dir: Path) -> None:
    """Save as a directory `AutoTokenizer.from_pretrained` loads (transformers 4 and 5)."""
    from transformers import PreTrainedTokenizerFast

    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=END_OF_TEXT,
        eos_token=END_OF_TEXT,
        unk_token=END_OF_TEXT,
        additional_special_tokens=list(SPECIAL_TOKENS[1:]),
        clean_up_tokenization_spaces=False,
    )
    wrapped.save_pretrained(out_dir)
    config_path = Path(out_dir) / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"  # transformers 5 writes a class 4.x lacks
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def train_tokenizer(
    release_dir: str | Path,
    vocab_size: int = 49152,
    sample_mb: float = 100.0,
    seed: int = 0,
    out_dir: str | Path | None = None,
    heldout_mb_per_language: float = 1.0,
    progress: bool = True,
) -> TokenizerReport:
    """Train the tokenizer on a seeded sample of the release's current dataset version.

    Writes `tokenizer.json` and `tokenizer_config.json` (transformers), `fertility.json` and
    `fertility.png` (characters per token per language, on held-out documents) and `manifest.json`
    into `out_dir` (default `<release>/tokenizer`).
    """
    if vocab_size < MIN_VOCAB_SIZE:
        raise TokenizerError(
            f"--vocab-size {vocab_size} is too small: a byte-level BPE with "
            f"{len(SPECIAL_TOKENS)} special tokens needs at least {MIN_VOCAB_SIZE}"
        )
    if sample_mb <= 0:
        raise TokenizerError(f"--sample-mb must be positive, got {sample_mb}")
    layout = ReleaseLayout.at(release_dir)
    dataset_dir = layout.dataset_dir()
    dataset_manifest = read_manifest(dataset_dir) or {}
    out = Path(out_dir) if out_dir else layout.tokenizer_dir
    out.mkdir(parents=True, exist_ok=True)

    sample, heldout = split_sample(dataset_dir, int(sample_mb * 2**20), seed, int(heldout_mb_per_language * 2**20))
    start = time.perf_counter()
    tokenizer = train_bpe(sample.texts, vocab_size, progress)
    seconds = time.perf_counter() - start
    save_transformers_tokenizer(tokenizer, out)

    fertility_on = "held-out documents" if heldout.texts else "the training sample (nothing was left out)"
    fertility = fertility_by_language(tokenizer, heldout if heldout.texts else sample)
    report = TokenizerReport(
        output_dir=str(out),
        vocab_size=tokenizer.get_vocab_size(),
        dataset_version=dataset_dir.name,
        dataset_manifest_hash=dataset_manifest.get("manifest_hash", ""),
        sample_documents=len(sample.texts),
        sample_bytes=sample.n_bytes,
        seed=seed,
        train_seconds=round(seconds, 2),
        fertility=fertility,
        fertility_on=fertility_on,
    )
    (out / "fertility.json").write_text(json.dumps(fertility, indent=2) + "\n", encoding="utf-8")
    write_fertility_plot(fertility, out / "fertility.png", fertility_on)
    outputs = [out / name for name in ("tokenizer.json", "tokenizer_config.json", "fertility.json")]
    write_manifest(
        out,
        {
            "kind": "tokenizer",
            "inputs": {
                "dataset_version": report.dataset_version,
                "dataset_manifest_hash": report.dataset_manifest_hash,
            },
            "parameters": {
                "vocab_size": vocab_size,
                "sample_mb": sample_mb,
                "seed": seed,
                "special_tokens": list(SPECIAL_TOKENS),
                "digits": "individual",
                "model": "byte-level BPE",
            },
            "counts": {
                "sample_documents": report.sample_documents,
                "sample_bytes": report.sample_bytes,
                "vocab_size": report.vocab_size,
                "heldout_documents": len(heldout.texts),
            },
            "fertility_on": fertility_on,
            "outputs": describe_outputs(out, outputs),
            "tools": tool_versions("tokenizers", "transformers"),
        },
        run={"train_seconds": report.train_seconds},
    )
    return report
