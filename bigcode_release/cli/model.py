"""CLI commands of the model side: `tokenizer train`, `tokenize`, `train`, `ablate`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bigcode_release.cli.output import JsonFlag, ProgressFlag, console, emit
from bigcode_release.errors import InvalidArgumentError, TrainingError

tokenizer_app = typer.Typer(
    no_args_is_help=True, help="The code tokenizer (byte-level BPE, StarCoder's special tokens)."
)
ReleaseArg = Annotated[Path, typer.Argument(help="release directory (holds the dataset)")]


@tokenizer_app.command("train")
def tokenizer_train(
    release: ReleaseArg,
    vocab_size: Annotated[int, typer.Option("--vocab-size", help="vocabulary size, special tokens included")] = 49152,
    sample_mb: Annotated[float, typer.Option("--sample-mb", help="MB of training text to sample")] = 100.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="default: <release>/tokenizer")] = None,
    as_json: JsonFlag = False,
    progress: ProgressFlag = True,
) -> None:
    """Train the tokenizer on a seeded sample of the current dataset version; report fertility."""
    from bigcode_release.tokenizer.training import train_tokenizer

    report = train_tokenizer(
        release,
        vocab_size=vocab_size,
        sample_mb=sample_mb,
        seed=seed,
        out_dir=out,
        progress=progress and not as_json,
    )

    def human() -> None:
        table = Table(title=f"fertility on {report.fertility_on} (vocab {report.vocab_size:,})")
        for column in ("language", "documents", "characters", "tokens", "chars/token"):
            table.add_column(column, justify="left" if column == "language" else "right")
        for row in report.fertility:
            table.add_row(
                row["language"],
                f"{row['documents']:,}",
                f"{row['characters']:,}",
                f"{row['tokens']:,}",
                f"{row['chars_per_token']:.2f}",
            )
        console.print(table)
        console.print(
            f"[green]done[/]: trained on {report.sample_documents:,} documents "
            f"({report.sample_bytes / 2**20:,.1f} MiB) in {report.train_seconds:,.1f} s -> {report.output_dir} "
            "(fertility.png next to it)"
        )

    emit(report.to_dict(), as_json, human)


def tokenize(
    release: ReleaseArg,
    tokenizer: Annotated[Path | None, typer.Option("--tokenizer", help="default: <release>/tokenizer")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="default: <release>/tokenized/<version>")] = None,
    validation_fraction: Annotated[float, typer.Option("--validation-fraction")] = 0.01,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    workers: Annotated[int, typer.Option("--workers", help="processes")] = 2,
    tokenizer_name: Annotated[
        str | None,
        typer.Option("--tokenizer-name", help="name written into .ds.metadata (default: the tokenizer directory)"),
    ] = None,
    as_json: JsonFlag = False,
    progress: ProgressFlag = True,
) -> None:
    """Tokenize the current dataset version into datatrove .ds shards (train + validation)."""
    from bigcode_release.tokenizer.shards import tokenize_dataset

    report = tokenize_dataset(
        release,
        tokenizer_dir=tokenizer,
        out_dir=out,
        validation_fraction=validation_fraction,
        seed=seed,
        workers=workers,
        metadata_name=tokenizer_name,
        show_progress=progress and not as_json,
    )

    def human() -> None:
        for split, counts in report.splits.items():
            console.print(
                f"{split}: {counts['documents']:,} documents, {counts['tokens']:,} tokens, {counts['shards']} shard(s)"
            )
        console.print(
            f"[green]done[/] in {report.wall_seconds:,.0f} s: {report.output_dir} "
            f"(vocab {report.vocab_size:,}, {report.token_size}-byte tokens)"
        )

    emit(report.to_dict(), as_json, human)


def _torchrun_self(recipe: Path, run_dir: Path | None, processes: int, as_json: bool) -> None:
    """Re-run this command under torchrun with one process per data-parallel replica."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={processes}",
        "-m",
        "bigcode_release.cli",
        "train",
        str(recipe),
        "--engine",
        "torch",
    ]
    command += ["--run-dir", str(run_dir)] if run_dir else []
    command += ["--json"] if as_json else []
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // processes))}
    raise typer.Exit(code=subprocess.call(command, env=env))


def train(
    recipe: Annotated[Path, typer.Argument(help="training recipe (YAML)")],
    engine: Annotated[str, typer.Option("--engine", help="torch (CPU/one GPU, DDP) or nanotron (GPUs)")] = "torch",
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="default: <release>/train/<name>")] = None,
    world_size: Annotated[
        int | None, typer.Option("--world-size", help="nanotron: processes that will run (checked against dp*tp*pp)")
    ] = None,
    launch: Annotated[bool, typer.Option("--launch", help="nanotron: start torchrun here (needs GPUs)")] = False,
    max_epochs: Annotated[
        float,
        typer.Option("--max-epochs", help="nanotron: refuse a token budget above this many epochs of the release"),
    ] = 4.0,
    nanotron_repo: Annotated[str, typer.Option("--nanotron-repo", help="nanotron checkout")] = "$NANOTRON_REPO",
    as_json: JsonFlag = False,
    progress: ProgressFlag = True,
) -> None:
    """Train with the torch engine, or write, check and (with --launch) run a nanotron config."""
    from bigcode_release.train.recipe import load_train_recipe

    if engine not in ("torch", "nanotron"):
        raise InvalidArgumentError(f"--engine must be torch or nanotron, got {engine!r}")
    loaded = load_train_recipe(recipe)
    if engine == "nanotron":
        return _nanotron(loaded, recipe, run_dir, world_size, launch, nanotron_repo, max_epochs, as_json)
    if loaded.parallelism.dp > 1 and "WORLD_SIZE" not in os.environ:
        _torchrun_self(recipe, run_dir, loaded.parallelism.dp, as_json)
    from bigcode_release.train.torch_engine import train_torch

    result = train_torch(loaded, origin=str(recipe), run_dir=run_dir, show_progress=progress and not as_json)
    if os.environ.get("RANK", "0") != "0":
        return

    def human() -> None:
        console.print(
            f"[green]done[/]: {result.steps} steps ({result.tokens:,} tokens, {result.parameters:,} parameters, "
            f"{result.world_size} process(es)) in {result.wall_seconds:,.0f} s, {result.tokens_per_second:,.0f} tok/s"
        )
        console.print(
            f"validation loss {result.first_val_loss} -> {result.final_val_loss}; "
            f"checkpoint {result.last_checkpoint}; log and loss.png in {result.run_dir}"
        )

    emit(result.to_dict(), as_json, human)


def _nanotron(
    recipe,
    recipe_path: Path,
    run_dir: Path | None,
    world_size: int | None,
    launch: bool,
    nanotron_repo: str,
    max_epochs: float,
    as_json: bool,
) -> None:
    from tokenizers import Tokenizer

    from bigcode_release.tokenizer.special_tokens import END_OF_TEXT
    from bigcode_release.train.budget import check_epochs, token_budget
    from bigcode_release.train.checks import check_recipe
    from bigcode_release.train.inputs import default_run_dir, resolve_inputs
    from bigcode_release.train.nanotron import batch_math, launch_commands, nanotron_config, write_nanotron_config

    math = batch_math(recipe)
    world = world_size or math.world_size
    check_recipe(recipe, "nanotron", str(recipe_path), world_size=world)
    inputs = resolve_inputs(recipe)
    budget = token_budget(recipe, inputs.vocab_size, inputs.train_dir, inputs.token_size)
    check_epochs(budget, str(recipe_path), max_epochs)
    eos = Tokenizer.from_file(str(inputs.tokenizer_dir / "tokenizer.json")).token_to_id(END_OF_TEXT)
    folder = run_dir or default_run_dir(recipe)
    config_path = write_nanotron_config(nanotron_config(recipe, inputs, eos, folder), folder / "nanotron.yaml", world)
    commands = launch_commands(recipe, config_path.resolve(), nanotron_repo)
    (folder / "nanotron.sbatch").write_text(commands["sbatch"], encoding="utf-8")

    def human() -> None:
        table = Table(title=f"nanotron batch math ({recipe.name})")
        table.add_column("quantity")
        table.add_column("value", justify="right")
        for key, value in math.to_dict().items():
            table.add_row(key.replace("_", " "), f"{value:,}")
        for key in ("parameters", "non_embedding_parameters", "release_train_tokens", "epochs"):
            table.add_row(key.replace("_", " "), f"{getattr(budget, key):,}")
        console.print(table)
        console.print(f"config (checked against nanotron {recipe.nanotron.commit[:8]}): {config_path}")
        console.print(f"one node:  {commands['torchrun']}")
        console.print(f"Slurm:     sbatch {folder / 'nanotron.sbatch'}")

    emit(
        {
            "config": str(config_path),
            "sbatch": str(folder / "nanotron.sbatch"),
            "batch_math": math.to_dict(),
            "budget": budget.to_dict(),
            "torchrun": commands["torchrun"],
            "nanotron_commit": recipe.nanotron.commit,
        },
        as_json,
        human,
    )
    if launch:
        _launch_nanotron(commands["torchrun"], nanotron_repo)


def _launch_nanotron(torchrun: str, nanotron_repo: str) -> None:
    import importlib.util

    import torch

    if importlib.util.find_spec("nanotron") is None:
        raise TrainingError(
            "--launch needs nanotron installed (pip install 'nanotron[nanosets] @ "
            "git+https://github.com/huggingface/nanotron@<commit>') on a machine with GPUs"
        )
    if not torch.cuda.is_available():
        raise TrainingError(
            "--launch needs CUDA GPUs: nanotron requires NCCL and flash-attn; on this machine use --engine torch"
        )
    if nanotron_repo.startswith("$") and not os.environ.get(nanotron_repo[1:]):
        raise TrainingError(f"set {nanotron_repo[1:]} or pass --nanotron-repo (a nanotron checkout with run_train.py)")
    raise typer.Exit(code=subprocess.call(torchrun, shell=True))


def ablate(
    recipe: Annotated[Path, typer.Argument(help="training recipe (YAML) of the ablation model")],
    variants: Annotated[str, typer.Option("--variants", help="comma-separated dataset versions or tokenized folders")],
    seeds: Annotated[int, typer.Option("--seeds", help="seeds per variant")] = 3,
    out: Annotated[Path | None, typer.Option("--out", help="default: <release>/ablations/<name>")] = None,
    as_json: JsonFlag = False,
    progress: ProgressFlag = True,
) -> None:
    """Train the recipe's model on each variant with several seeds; compare validation loss."""
    from bigcode_release.layout import ReleaseLayout
    from bigcode_release.train.ablation import run_ablation
    from bigcode_release.train.recipe import load_train_recipe

    loaded = load_train_recipe(recipe)
    folder = out or ReleaseLayout.at(loaded.data.release).ablation_dir(loaded.name)
    report = run_ablation(
        loaded,
        [v for v in variants.split(",") if v],
        seeds,
        folder,
        str(recipe),
        show_progress=progress and not as_json,
    )

    def human() -> None:
        table = Table(title=f"ablation: final validation loss over {seeds} seed(s) (shared validation set)")
        for column in ("variant", "mean", "std", "per seed", "HumanEval bits/byte (mean ± std)"):
            table.add_column(column, justify="left" if column in ("variant", "per seed") else "right")
        for row in report.variants:
            table.add_row(
                row.variant,
                f"{row.mean:.4f}",
                f"{row.std:.4f}",
                ", ".join(f"{v:.4f}" for v in row.val_losses),
                f"{row.humaneval_bpb_mean:.4f} ± {row.humaneval_bpb_std:.4f}",
            )
        console.print(table)
        verdict = "better than every other by the rule" if report.separated else "not decided at these seeds"
        console.print(f"best: {report.best} by {report.gap:.4f} nats ({verdict}); {report.output_dir}/ablation.png")
        console.print(f"rule: {report.rule}")

    emit(report.to_dict(), as_json, human)
