"""`bigcode-release tokenize`: a dataset version's training text as datatrove tokenized shards.

Layout of `<release>/tokenized/<version>/`:

    train/000_train.ds (+ .ds.index, .ds.metadata)   shuffled, merged
    validation/000_validation.ds ...                 documents picked by a seeded hash of their id
    manifest.json                                    inputs, counts, outputs with sha256
    work/                                            datatrove logs, stats and completions (resumable)

Each split is one datatrove pipeline (Parquet reader -> split selector -> `DocumentTokenizer`,
documents shuffled per task) followed by `DocumentTokenizerMerger` (one task, shuffled order).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import ParquetReader
from datatrove.pipeline.tokens.merger import DocumentTokenizerMerger
from tokenizers import Tokenizer
from tqdm import tqdm

from bigcode_release.child_process import log_tail, run_logged
from bigcode_release.data.progress import read_progress
from bigcode_release.errors import TokenizedDataError, TokenizerError
from bigcode_release.layout import ReleaseLayout
from bigcode_release.manifest import describe_outputs, read_manifest, tool_versions, write_manifest
from bigcode_release.tokenizer.ds_format import check_folder
from bigcode_release.tokenizer.sample import text_column
from bigcode_release.tokenizer.special_tokens import END_OF_TEXT
from bigcode_release.tokenizer.steps import SPLITS, DirectoryTokenizer, SplitSelector


@dataclass(frozen=True)
class TokenizeReport:
    """Where the shards are and what they hold."""

    output_dir: str
    dataset_version: str
    tokenizer: str
    vocab_size: int
    token_size: int
    splits: dict[str, dict]
    wall_seconds: float
    reused: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Job:
    data_dir: str
    text_key: str
    tokenizer_dir: str
    metadata_name: str
    work_dir: str
    out_dir: str
    validation_fraction: float
    seed: int
    tasks: int
    workers: int
    max_tokens_per_file: int | None


def _run_job(job: _Job) -> None:
    """Runs in the child process: both splits, tokenized then merged."""
    work = Path(job.work_dir)
    for split in SPLITS:
        pipeline = [
            ParquetReader(job.data_dir, text_key=job.text_key, glob_pattern="*.parquet"),
            SplitSelector(split, job.validation_fraction, job.seed, progress_dir=str(work / "progress" / split)),
            DirectoryTokenizer(
                str(work / split / "tokenized"),
                job.tokenizer_dir,
                metadata_name=job.metadata_name,
                local_working_dir=str(work / split / "unshuffled"),
                save_filename=split,
                eos_token=END_OF_TEXT,
                seed=job.seed,
                shuffle_documents=True,
            ),
        ]
        executor = LocalPipelineExecutor(
            pipeline, tasks=job.tasks, workers=job.workers, logging_dir=str(work / "logs" / f"{split}-tokenize")
        )
        executor.run()
        _require_complete(executor, f"{split} tokenization")
        merger = DocumentTokenizerMerger(
            str(work / split / "tokenized"),
            str(Path(job.out_dir) / split),
            save_filename=split,
            shuffle=True,
            seed=job.seed,
            max_tokens_per_file=job.max_tokens_per_file or int(100e9),
            progress=False,
        )
        executor = LocalPipelineExecutor(
            [merger], tasks=1, workers=1, logging_dir=str(work / "logs" / f"{split}-merge")
        )
        executor.run()
        _require_complete(executor, f"{split} merge")


def _require_complete(executor: LocalPipelineExecutor, what: str) -> None:
    """Refuse a stage whose tasks did not all finish (datatrove's own completion markers)."""
    failed = executor.get_incomplete_ranks()
    if failed:
        raise TokenizedDataError(
            f"{what}: {len(failed)} of {executor.world_size} task(s) failed; logs in {executor.logging_dir.path}/logs"
        )


def _split_counts(logging_dir: Path) -> dict:
    stats = json.loads((logging_dir / "stats.json").read_text(encoding="utf-8"))
    by_name = {step["name"].rsplit(": ", 1)[-1]: step["stats"] for step in stats}
    return {
        "documents": by_name[SplitSelector.name].get("kept", 0),
        "tokens": by_name[DirectoryTokenizer.name]["tokens"]["total"],
    }


def _reused(manifest: dict, out: Path, tokenizer_dir: Path, metadata_name: str | None) -> TokenizeReport:
    """The report of shards already made from the same inputs; with the default tokenizer name,
    `.ds.metadata` is pointed at the tokenizer directory where it is now."""
    name = metadata_name or str(tokenizer_dir.resolve())
    for path in out.glob("*/*.ds.metadata"):
        lines = path.read_text(encoding="utf-8").splitlines()
        tokenizer, token_size = lines[0].rsplit("|", 1)
        if tokenizer != name:
            path.write_text("\n".join([f"{name}|{token_size}", *lines[1:]]) + "\n", encoding="utf-8")
    counts = manifest["counts"]
    splits = {split: {key: counts[f"{split}_{key}"] for key in ("documents", "tokens", "shards")} for split in SPLITS}
    return TokenizeReport(
        output_dir=str(out),
        dataset_version=manifest["inputs"]["dataset_version"],
        tokenizer=name,
        vocab_size=counts["vocab_size"],
        token_size=counts["token_size"],
        splits=splits,
        wall_seconds=0.0,
        reused=True,
    )


def tokenize_dataset(
    release_dir: str | Path,
    tokenizer_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    validation_fraction: float = 0.01,
    seed: int = 0,
    tasks: int | None = None,
    workers: int = 2,
    metadata_name: str | None = None,
    max_tokens_per_file: int | None = None,
    show_progress: bool = True,
) -> TokenizeReport:
    """Tokenize the release's current dataset version into train and validation shards.

    `metadata_name` is the tokenizer name written into `.ds.metadata` (what nanotron loads with
    `AutoTokenizer`): the tokenizer directory by default, or e.g. a Hub id once it is published.
    Shards made from the same dataset and tokenizer manifests with the same settings are reused
    (in a moved or copied release too: the default name in `.ds.metadata` is pointed at the
    tokenizer where it is now); shards of other inputs are rebuilt. A re-run skips the tasks
    already complete.
    """
    if not 0 < validation_fraction < 1:
        raise TokenizerError(f"--validation-fraction must be between 0 and 1, got {validation_fraction}")
    layout = ReleaseLayout.at(release_dir)
    dataset_dir = layout.dataset_dir()
    tokenizer_dir = Path(tokenizer_dir) if tokenizer_dir else layout.tokenizer_dir
    if not (tokenizer_dir / "tokenizer.json").is_file():
        raise TokenizerError(f"{tokenizer_dir} has no tokenizer.json: run `bigcode-release tokenizer train` first")
    out = Path(out_dir) if out_dir else layout.tokenized_dir(dataset_dir.name)
    inputs = {
        "dataset_version": dataset_dir.name,
        "dataset_manifest_hash": (read_manifest(dataset_dir) or {}).get("manifest_hash", ""),
        "tokenizer_manifest_hash": (read_manifest(tokenizer_dir) or {}).get("manifest_hash", ""),
    }
    parameters = {
        "validation_fraction": validation_fraction,
        "seed": seed,
        "text_column": text_column(dataset_dir),
        "eos_token": END_OF_TEXT,
        "tokenizer_name": metadata_name,  # None: the tokenizer directory, wherever it is
        "tasks": tasks or len(sorted((dataset_dir / "data").glob("*.parquet"))),
        "max_tokens_per_file": max_tokens_per_file,
    }
    existing = read_manifest(out)
    if existing is not None and existing["inputs"] == inputs and existing["parameters"] == parameters:
        return _reused(existing, out, tokenizer_dir, metadata_name)
    if existing is not None:  # shards of other inputs: they are not these inputs' shards
        if existing.get("kind") != "tokenized":
            raise TokenizerError(
                f"{out} holds a {existing.get('kind')} manifest, not tokenized shards: choose another --out"
            )
        shutil.rmtree(out)
    work = out / "work"
    shards = sorted((dataset_dir / "data").glob("*.parquet"))
    job = _Job(
        data_dir=str(dataset_dir / "data"),
        text_key=text_column(dataset_dir),
        tokenizer_dir=str(tokenizer_dir.resolve()),
        metadata_name=metadata_name or str(tokenizer_dir.resolve()),
        work_dir=str(work),
        out_dir=str(out),
        validation_fraction=validation_fraction,
        seed=seed,
        tasks=tasks or len(shards),
        workers=workers,
        max_tokens_per_file=max_tokens_per_file,
    )
    dataset_manifest = read_manifest(dataset_dir) or {}
    total_docs = dataset_manifest.get("counts", {}).get("kept_files")
    start = time.perf_counter()
    bar = tqdm(
        total=2 * total_docs if total_docs else None,
        unit="doc",
        desc=f"tokenizing {dataset_dir.name}",
        disable=not show_progress,
        dynamic_ncols=True,
    )

    def draw() -> None:
        done = sum(read_progress(work / "progress" / split)[0] for split in SPLITS)
        bar.n = done
        bar.set_postfix_str("both splits are read once each", refresh=False)
        bar.refresh()

    try:
        exitcode = run_logged(_run_job, (job,), work / "tokenize.log", draw)
    finally:
        bar.close()
    if exitcode != 0:
        raise TokenizedDataError(
            f"tokenization failed (exit code {exitcode}); log: {work / 'tokenize.log'}\n"
            f"{log_tail(work / 'tokenize.log')}\nRe-run the same command to resume."
        )

    vocab_size = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json")).get_vocab_size()
    splits = {}
    for split in SPLITS:
        infos = check_folder(out / split, vocab_size)
        counts = _split_counts(work / "logs" / f"{split}-tokenize")
        if counts["tokens"] != sum(i.tokens for i in infos):
            raise TokenizedDataError(
                f"{out / split}: tokenizer counted {counts['tokens']} tokens, "
                f"the shards hold {sum(i.tokens for i in infos)}"
            )
        splits[split] = {**counts, "shards": len(infos)}
        shutil.rmtree(work / split, ignore_errors=True)
    report = TokenizeReport(
        output_dir=str(out),
        dataset_version=dataset_dir.name,
        tokenizer=job.metadata_name,
        vocab_size=vocab_size,
        token_size=infos[0].token_size,
        splits=splits,
        wall_seconds=round(time.perf_counter() - start, 1),
    )
    # `.ds.metadata` names the tokenizer (a machine path by default): left out of the hashed outputs
    outputs = sorted(p for split in SPLITS for p in (out / split).glob("*.ds*") if not p.name.endswith(".metadata"))
    write_manifest(
        out,
        {
            "kind": "tokenized",
            "inputs": inputs,
            "parameters": parameters,
            "counts": {
                "vocab_size": vocab_size,
                "token_size": report.token_size,
                **{f"{split}_{key}": value for split, counts in splits.items() for key, value in counts.items()},
            },
            "outputs": describe_outputs(out, outputs),
            "tools": tool_versions("datatrove", "tokenizers"),
        },
        run={"wall_seconds": report.wall_seconds},
    )
    return report
