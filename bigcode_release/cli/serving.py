"""CLI commands for end users of a released model: `finetune` (LoRA on their own code), `serve` (a
TGI-protocol server on CPU) and `complete` (plain, streamed or fill-in-the-middle completion
against any TGI-protocol endpoint)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bigcode_release.cli.output import JsonFlag, ProgressFlag, console, emit
from bigcode_release.errors import FinetuneError, ServingError


def finetune(
    base: Annotated[Path, typer.Option("--base", help="the base model: a transformers causal-LM folder")],
    code: Annotated[list[Path], typer.Option("--code", help="a repository checkout (repeat for several)")],
    out: Annotated[Path, typer.Option("--out", help="output folder (adapter/, merged/, log.csv, loss.png)")] = Path(
        "finetune"
    ),
    recipe: Annotated[Path | None, typer.Option("--recipe", help="YAML with any of the settings below")] = None,
    private: Annotated[
        bool, typer.Option("--private", help="private code: skip the license filter and PII redaction")
    ] = False,
    languages: Annotated[
        str | None, typer.Option("--languages", help="comma-separated, e.g. python,rust (default all)")
    ] = None,
    r: Annotated[int | None, typer.Option("--r", help="LoRA rank [16]")] = None,
    alpha: Annotated[float | None, typer.Option("--alpha", help="LoRA alpha [32]")] = None,
    dropout: Annotated[float | None, typer.Option("--dropout", help="LoRA dropout [0.05]")] = None,
    target_modules: Annotated[
        str | None, typer.Option("--target-modules", help="'all-linear' or comma-separated names")
    ] = None,
    sequence_length: Annotated[int | None, typer.Option("--sequence-length", help="[512]")] = None,
    micro_batch_size: Annotated[int | None, typer.Option("--micro-batch-size", help="[4]")] = None,
    epochs: Annotated[float | None, typer.Option("--epochs", help="[3]")] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="overrides --epochs")] = None,
    learning_rate: Annotated[float | None, typer.Option("--learning-rate", help="[2e-4]")] = None,
    fim_rate: Annotated[float | None, typer.Option("--fim-rate", help="[0.5]; 0 turns FIM off")] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    four_bit: Annotated[
        bool, typer.Option("--4bit", help="QLoRA: 4-bit base weights (CUDA GPU + bitsandbytes)")
    ] = False,
    merge: Annotated[bool, typer.Option("--merge", help="also write the base with the adapter merged in")] = False,
    as_json: JsonFlag = False,
    progress: ProgressFlag = True,
) -> None:
    """Fine-tune a LoRA adapter on your own repositories (the dataset stage's filters, FIM, packing)."""
    from bigcode_release.finetune.corpus import build_corpus
    from bigcode_release.finetune.lora import train_lora
    from bigcode_release.finetune.settings import load_settings

    show = progress and not as_json
    modules = target_modules if target_modules in (None, "all-linear") else [m for m in target_modules.split(",") if m]
    settings = load_settings(
        recipe,
        {
            "r": r,
            "alpha": alpha,
            "dropout": dropout,
            "target_modules": modules,
            "sequence_length": sequence_length,
            "micro_batch_size": micro_batch_size,
            "epochs": epochs,
            "max_steps": max_steps,
            "learning_rate": learning_rate,
            "fim_rate": fim_rate,
            "seed": seed,
            "load_in_4bit": four_bit or None,
        },
    )
    if not (base / "config.json").is_file():
        raise FinetuneError(f"--base {base}: not a transformers model folder (no config.json)")
    corpus = build_corpus(
        code,
        out / "corpus",
        private=private,
        languages=[x for x in languages.split(",") if x] if languages else None,
        show_progress=show,
    )
    report = train_lora(base, corpus, out, settings, merge=merge, show_progress=show)

    def human() -> None:
        val = (
            f"; validation {report.first_val_loss:.4f} -> {report.last_val_loss:.4f}"
            if report.last_val_loss is not None
            else ""
        )
        console.print(
            f"{corpus.files_kept} files ({corpus.bytes_kept:,} bytes), {report.train_windows} training windows; "
            f"{report.steps} steps, loss {report.first_train_loss:.4f} -> {report.last_train_loss:.4f}{val}; "
            f"{report.trainable_parameters:,} trainable parameters"
        )
        console.print(
            f"adapter: {report.adapter_dir} (README.md card, loss.png)"
            + (f"; merged model: {report.merged_dir}" if report.merged_dir else "")
        )

    emit(report.to_dict(), as_json, human)


def serve(
    model_dir: Annotated[Path, typer.Argument(help="a transformers causal-LM folder (weights, config, tokenizer)")],
    adapter: Annotated[Path | None, typer.Option("--adapter", help="a PEFT adapter folder, merged at start-up")] = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
    model_id: Annotated[str | None, typer.Option("--model-id", help="name reported by /info")] = None,
    max_total_tokens: Annotated[
        int | None, typer.Option("--max-total-tokens", help="input + new tokens (default: the model's context)")
    ] = None,
    max_concurrent_requests: Annotated[
        int, typer.Option("--max-concurrent-requests", help="beyond this, requests get 429")
    ] = 32,
) -> None:
    """Serve a model over TGI's HTTP protocol (/generate, /generate_stream, /info, /health, /v1/completions)."""
    from bigcode_release.serve.server import serve as run

    def ready(generator) -> None:
        url = f"http://{host}:{port}"
        console.print(
            f"serving {generator.model_id} ({generator.device}, context {generator.max_total_tokens} tokens"
            f"{', adapter merged' if generator.adapter else ''}) on {url}: "
            "POST /generate, /generate_stream, /v1/completions; GET /info, /health"
        )

    try:
        run(
            model_dir,
            adapter,
            host=host,
            port=port,
            model_id=model_id,
            max_total_tokens=max_total_tokens,
            max_concurrent_requests=max_concurrent_requests,
            on_ready=ready,
        )
    except OSError as exc:
        raise ServingError(f"cannot load or serve {model_dir}: {exc}") from None


def complete(
    prompt: Annotated[str, typer.Argument(help="the code before the cursor (the prefix with --suffix); - reads stdin")],
    endpoint: Annotated[str, typer.Option("--endpoint", help="a TGI-protocol server, e.g. http://127.0.0.1:8080")],
    suffix: Annotated[str | None, typer.Option("--suffix", help="code after the cursor: fill in the middle")] = None,
    stream: Annotated[bool, typer.Option("--stream", help="print the completion as it is generated")] = False,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 128,
    temperature: Annotated[float, typer.Option("--temperature", help="0: greedy")] = 0.0,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Complete code with any TGI-protocol endpoint (plain, streamed, or fill-in-the-middle)."""
    from bigcode_release.serve.client import CodeCompleter

    text = sys.stdin.read() if prompt == "-" else prompt
    completer = CodeCompleter(endpoint)
    if suffix is not None:
        if stream:
            raise ServingError("--stream is for plain completion; a fill-in-the-middle answer comes whole")
        result = completer.fill_in_the_middle(text, suffix, max_new_tokens, temperature, seed)
    elif stream and not as_json:
        for piece in completer.stream(text, max_new_tokens, temperature, seed):
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
        return
    else:
        result = completer.complete(text, max_new_tokens, temperature, seed)
    emit(
        {"endpoint": endpoint, "mode": "fim" if suffix is not None else "plain", "completion": result},
        as_json,
        lambda: sys.stdout.write(result + "\n"),
    )
