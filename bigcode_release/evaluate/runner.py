"""Evaluate a checkpoint (or a folder of them) on code tasks with lighteval: generation by
lighteval's transformers backend (or a TGI-protocol endpoint), scoring by execution in the sandbox.

Per checkpoint the output folder holds `results.json` (pass@k per task with every setting that
produced it), `results.md` (the same as a table), `samples.jsonl` (each completion and its verdict)
and lighteval's own `lighteval/` results and details. A series adds `series.json` and a PNG of
pass@k against the training step.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bigcode_release.errors import EvaluationError
from bigcode_release.evaluate.lighteval_compat import (
    LIGHTEVAL_VERSION,
    check_versions,
    grad_mode_kept,
    quiet,
    registry_of,
    set_sampling,
)
from bigcode_release.evaluate.likelihood import BITS_PER_BYTE, LOGLIK_PER_TOKEN
from bigcode_release.evaluate.sandbox import SandboxLimits, require_opt_in, sandbox_available
from bigcode_release.evaluate.tasks import DEFAULT_MAX_NEW_TOKENS, CodeTask, task_config, write_task_dataset
from bigcode_release.manifest import content_hash, read_manifest, sha256_file
from bigcode_release.plotting import line_chart

RESULTS_FILE = "results.json"
# bigcode-evaluation-harness defaults when sampling
DEFAULT_TEMPERATURE = 0.2
DEFAULT_TOP_P = 0.95


@dataclass(frozen=True)
class EvalSettings:
    """What is generated and how it is scored. n = 1 decodes greedily; n > 1 samples."""

    tasks: tuple[CodeTask, ...]
    n: int = 1
    ks: tuple[int, ...] = (1,)
    temperature: float | None = None
    top_p: float = DEFAULT_TOP_P
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    seed: int = 0
    batch_size: int = 1
    max_problems: int | None = None
    limits: SandboxLimits = SandboxLimits()
    workers: int = 2

    def __post_init__(self) -> None:
        if self.n < 1:
            raise EvaluationError(f"--n must be at least 1, got {self.n}")
        too_big = [k for k in self.ks if not 1 <= k <= self.n]
        if too_big or not self.ks:
            raise EvaluationError(
                f"--k {list(self.ks)}: every k must be between 1 and n={self.n} "
                "(pass@k needs at least k samples a problem)"
            )
        if self.n > 1 and self.temperature is not None and self.temperature <= 0:
            raise EvaluationError(
                f"--n {self.n} samples need --temperature above 0 (got {self.temperature}); "
                "use --n 1 for greedy decoding"
            )
        if not 0 < self.top_p <= 1:
            raise EvaluationError(f"--top-p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1 or self.batch_size < 1 or self.workers < 1:
            raise EvaluationError("--max-new-tokens, --batch-size and --workers must be at least 1")
        if self.max_problems is not None and self.max_problems < 1:
            raise EvaluationError(f"--max-problems must be at least 1, got {self.max_problems}")

    @property
    def sampling_temperature(self) -> float:
        """0 (greedy) for one sample; the given or the reference harness's temperature otherwise."""
        if self.n == 1:
            return 0.0
        return DEFAULT_TEMPERATURE if self.temperature is None else self.temperature

    def to_dict(self) -> dict:
        return {
            "tasks": [
                {
                    "name": t.name,
                    "problems_file": str(t.problems_file),
                    "strip_prompt": t.strip_prompt,
                    **({"infilling": t.infilling, "fim_mode": t.fim_mode, "seed": t.seed} if t.infilling else {}),
                    # a held-out sample is identified by its tokenized version's content, not where it lies
                    **({"tokenized_manifest_hash": _manifest_hash(t.problems_file)} if t.heldout else {}),
                }
                for t in self.tasks
            ],
            "n": self.n,
            "k": list(self.ks),
            "temperature": self.sampling_temperature,
            "top_p": self.top_p if self.n > 1 else None,
            "greedy": self.n == 1,
            "max_new_tokens": self.max_new_tokens,
            "seed": self.seed,
            "max_problems": self.max_problems,
            "sandbox": {**asdict(self.limits), "engine": "bubblewrap"},
        }


@dataclass
class CheckpointResult:
    """pass@k per task for one checkpoint, and where the files are."""

    checkpoint: str
    step: int | None
    scores: dict[str, dict]
    settings: dict
    output_dir: str
    seconds: float
    reused: bool = False
    generator: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def checkpoint_step(checkpoint: Path) -> int | None:
    """The training step: from `trainer_state.json` (ours: `step`; transformers' Trainer:
    `global_step`), else the number the folder's name ends with."""
    state_file = Path(checkpoint) / "trainer_state.json"
    if state_file.is_file():
        try:
            state = json.loads(state_file.read_text(encoding="utf-8"))
            for key in ("step", "global_step"):
                if isinstance(state.get(key), int):
                    return state[key]
        except (OSError, json.JSONDecodeError):
            pass
    found = re.search(r"(\d+)$", Path(checkpoint).name)
    return int(found.group(1)) if found else None


def check_checkpoint(checkpoint: Path) -> None:
    """A transformers causal-LM folder: config, weights and tokenizer files."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_dir():
        raise EvaluationError(f"{checkpoint}: not a directory (a checkpoint in transformers format is expected)")
    missing = [name for name in ("config.json",) if not (checkpoint / name).is_file()]
    if not any(checkpoint.glob("*.safetensors")) and not any(checkpoint.glob("pytorch_model*.bin")):
        missing.append("model weights (*.safetensors)")
    if not (checkpoint / "tokenizer.json").is_file() and not (checkpoint / "tokenizer_config.json").is_file():
        missing.append("tokenizer files")
    if missing:
        raise EvaluationError(f"{checkpoint}: not a transformers checkpoint, missing {', '.join(missing)}")


def list_series(folder: Path) -> list[Path]:
    """Checkpoints under `folder` (or its `checkpoints/`), ordered by training step."""
    folder = Path(folder)
    root = folder / "checkpoints" if (folder / "checkpoints").is_dir() else folder
    found = [d for d in root.iterdir() if d.is_dir() and (d / "config.json").is_file()] if root.is_dir() else []
    if not found:
        raise EvaluationError(f"{folder}: no checkpoint folders (with config.json) in it")
    return sorted(found, key=lambda d: (checkpoint_step(d) is None, checkpoint_step(d) or 0, d.name))


def default_output_dir(checkpoint: Path) -> Path:
    """`<run>/eval/<step-folder>` for a run's checkpoint, else `<checkpoint>-eval`."""
    checkpoint = Path(checkpoint).resolve()
    if checkpoint.parent.name == "checkpoints":
        return checkpoint.parent.parent / "eval" / checkpoint.name
    return checkpoint.with_name(f"{checkpoint.name}-eval")


def default_series_dir(folder: Path) -> Path:
    """`<run>/eval` for a run folder or its `checkpoints/`, else `<folder>-eval`."""
    folder = Path(folder).resolve()
    if (folder / "checkpoints").is_dir():
        return folder / "eval"
    if folder.name == "checkpoints":
        return folder.parent / "eval"
    return folder.with_name(f"{folder.name}-eval")


def _manifest_hash(folder: Path) -> str | None:
    return (read_manifest(folder) or {}).get("manifest_hash")


def _fingerprint(checkpoint: Path | None, endpoint: str | None, settings: EvalSettings) -> str:
    """Changes when the weights (by content), the endpoint or the settings change, so finished
    results are reused for the same model wherever its folder now lies (a moved or copied release)."""
    files = {}
    if checkpoint is not None:
        for path in sorted(Path(checkpoint).iterdir()):
            if path.is_file() and (path.suffix in (".safetensors", ".bin") or path.name == "config.json"):
                files[path.name] = sha256_file(path)
    described = settings.to_dict()
    for task in described["tasks"]:  # a copied or moved release is the same held-out sample
        if "tokenized_manifest_hash" in task:
            task.pop("problems_file")
    return content_hash({"files": files, "endpoint": endpoint, "settings": described})


def _local_model(checkpoint: Path, settings: EvalSettings, cache_dir: Path, show_progress: bool):
    """The checkpoint as lighteval's transformers model, loaded here so that sampling is switched on
    and nothing asks the Hub about a local folder."""
    import torch
    from lighteval.models.model_input import GenerationParameters
    from lighteval.models.transformers.transformers_model import TransformersModel, TransformersModelConfig
    from transformers import AutoModelForCausalLM

    class LocalCheckpointConfig(TransformersModelConfig):
        def get_model_sha(self) -> str:
            return ""  # a local folder has no Hub revision (lighteval would ask the Hub)

    class LocalTransformersModel(TransformersModel):
        @property
        def disable_tqdm(self) -> bool:
            return not show_progress

    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        model = AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=torch.float32).to(device)
    except (OSError, ValueError) as exc:
        raise EvaluationError(f"{checkpoint}: cannot load as a causal LM ({exc})") from None
    set_sampling(model, settings.n, settings.sampling_temperature)
    temperature = settings.sampling_temperature
    config = LocalCheckpointConfig(
        model_name=f"{checkpoint.parent.parent.name}_{checkpoint.name}",
        tokenizer=str(checkpoint),
        batch_size=settings.batch_size,
        device=device,
        cache_dir=str(cache_dir),
        generation_parameters=GenerationParameters(
            temperature=temperature, top_p=settings.top_p if temperature > 0 else None, seed=settings.seed
        ),
    )
    return LocalTransformersModel.from_model(model=model, config=config)


def _endpoint_model(endpoint: str, settings: EvalSettings, cache_dir: Path, show_progress: bool):
    from bigcode_release.evaluate.endpoint_model import EndpointModel, EndpointModelConfig

    return EndpointModel(
        EndpointModelConfig(
            endpoint_url=endpoint,
            temperature=settings.sampling_temperature,
            top_p=settings.top_p,
            seed=settings.seed,
            cache_dir=str(cache_dir),
            show_progress=show_progress,
        )
    )


def evaluate_checkpoint(
    checkpoint: str | Path | None,
    settings: EvalSettings,
    output_dir: str | Path,
    endpoint: str | None = None,
    allow_code_execution: bool = False,
    reuse: bool = True,
    show_progress: bool = True,
) -> CheckpointResult:
    """Generate with the checkpoint (or `endpoint`) and score every task by sandboxed execution
    (likelihood tasks run no code: they need neither the opt-in nor the sandbox)."""
    if not all(task.likelihood for task in settings.tasks):
        require_opt_in(allow_code_execution)
        problem = sandbox_available()
        if problem:
            raise EvaluationError(problem)
    check_versions()
    if (checkpoint is None) == (endpoint is None):
        raise EvaluationError("give either a checkpoint folder or --endpoint URL")
    if endpoint is not None and any(task.likelihood for task in settings.tasks):
        raise EvaluationError("likelihood tasks (humaneval-bpb) need the model's log-probabilities: give a checkpoint")
    checkpoint = Path(checkpoint).resolve() if checkpoint is not None else None
    if checkpoint is not None:
        check_checkpoint(checkpoint)
    output_dir = Path(output_dir)
    fingerprint = _fingerprint(checkpoint, endpoint, settings)
    previous = _read_result(output_dir)
    if reuse and previous and previous.get("fingerprint") == fingerprint:
        result = CheckpointResult(**{k: v for k, v in previous.items() if k != "fingerprint"})
        here = str(checkpoint) if checkpoint else endpoint
        return replace(result, checkpoint=here, output_dir=str(output_dir), reused=True)

    started = time.monotonic()
    work = output_dir / ".work"
    shutil.rmtree(work, ignore_errors=True)
    try:
        with grad_mode_kept():
            scores, log_rows, likelihood_rows, generator = _run_lighteval(
                checkpoint, endpoint, settings, output_dir, work, show_progress
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = CheckpointResult(
        checkpoint=str(checkpoint) if checkpoint else endpoint,
        step=checkpoint_step(checkpoint) if checkpoint else None,
        scores=scores,
        settings=settings.to_dict(),
        output_dir=str(output_dir),
        seconds=round(time.monotonic() - started, 1),
        generator=generator,
    )
    _write_outputs(result, log_rows, likelihood_rows, fingerprint)
    return result


def _run_lighteval(
    checkpoint: Path | None,
    endpoint: str | None,
    settings: EvalSettings,
    output_dir: Path,
    work: Path,
    show_progress: bool,
) -> tuple[dict, list[dict], list[dict], dict]:
    import torch
    from lighteval.logging.evaluation_tracker import EvaluationTracker
    from lighteval.pipeline import ParallelismManager, Pipeline, PipelineParameters

    from bigcode_release.evaluate.likelihood import LikelihoodLog
    from bigcode_release.evaluate.metric import VerdictLog, execution_metric, likelihood_metric

    quiet(not show_progress)
    log, likelihoods = VerdictLog(), LikelihoodLog()
    metric = execution_metric(settings.n, list(settings.ks), settings.limits, settings.workers, log)
    scored = likelihood_metric(likelihoods)
    if checkpoint is not None:
        model = _local_model(checkpoint, settings, work / "cache", show_progress)
        generator = {"backend": "lighteval transformers", "checkpoint": str(checkpoint), "device": str(model.device)}
    else:
        model = _endpoint_model(endpoint, settings, work / "cache", show_progress)
        generator = {
            "backend": "TGI endpoint (huggingface_hub.InferenceClient)",
            "endpoint": endpoint,
            "model_id": model.info.get("model_id"),
        }

    def fit(problem: dict) -> dict | None:
        """A likelihood problem within the model's context: the prompt cut from the left if it must
        be; None when the solution alone does not fit."""
        encode = model.tokenizer
        solution = len(encode(problem["canonical_solution"], add_special_tokens=False)["input_ids"])
        prompt = encode(problem["prompt"], add_special_tokens=False)["input_ids"]
        room = model.max_length - 1 - solution
        if room < 1:
            return None
        if len(prompt) <= room:
            return problem
        return {**problem, "prompt": model.tokenizer.decode(prompt[-room:])}

    written = {
        task.name: write_task_dataset(task, work / "tasks", settings.max_problems, fit if task.likelihood else None)
        for task in settings.tasks
    }
    # a likelihood task none of whose solutions fits the context is reported empty, not run
    run_tasks = [task for task in settings.tasks if written[task.name][2]]
    configs = [
        task_config(task, written[task.name][0], scored if task.likelihood else metric, settings.max_new_tokens)
        for task in run_tasks
    ]
    generator["lighteval"] = LIGHTEVAL_VERSION
    torch.manual_seed(settings.seed)
    results = {}
    if run_tasks:
        with registry_of(configs):
            pipeline = Pipeline(
                tasks=",".join(f"{task.name}|0" for task in run_tasks),
                pipeline_parameters=PipelineParameters(launcher_type=ParallelismManager.NONE),
                evaluation_tracker=EvaluationTracker(output_dir=str(output_dir / "lighteval"), save_details=True),
                model=model,
            )
            pipeline.evaluate()
            pipeline.save_and_push_results()
            results = pipeline.get_results()["results"]
    scores = {}
    for task in settings.tasks:
        if task.likelihood:
            scores[task.name] = {**likelihoods.scores(task.name), "skipped_longer_than_context": written[task.name][1]}
            scores[task.name]["contexts_cut_to_fit"] = written[task.name][3]
            continue
        task_results = results.get(f"{task.name}:0", {})  # lighteval writes "|" as ":" here
        problems = [p for p in log.problems if p.task.split("|")[0] == task.name]
        samples = sum(len(p.statuses) for p in problems)
        scores[task.name] = {
            "problems": len(problems),
            "samples": samples,
            **{f"pass@{k}": _number(task_results.get(f"pass@{k}")) for k in settings.ks},
            **{f"pass@{k}_stderr": _number(task_results.get(f"pass@{k}_stderr")) for k in settings.ks},
        }
        if task.infilling:
            exact = sum(p.exact_matches or 0 for p in problems)
            scores[task.name]["exact_match"] = round(exact / samples, 4) if samples else None
    return scores, log.rows(), likelihoods.rows, generator


def _number(value) -> float | None:
    return None if value is None else float(value)


def _read_result(output_dir: Path) -> dict | None:
    path = Path(output_dir) / RESULTS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def results_table(result: CheckpointResult) -> str:
    """pass@k per task as a Markdown table."""
    ks = result.settings["k"]
    exact = any("exact_match" in score for score in result.scores.values())
    likelihood = any(BITS_PER_BYTE in score for score in result.scores.values())
    header = [f"pass@{k}" for k in ks] + (["exact match"] if exact else [])
    header += ["bits/byte", "loglik/token"] if likelihood else []
    lines = [f"| task | problems | n | {' | '.join(header)} |", "|---|---:|---:|" + "---:|" * len(header)]
    for task, score in result.scores.items():
        values = [_cell(score.get(f"pass@{k}")) for k in ks]
        if exact:
            values.append(_cell(score.get("exact_match")))
        if likelihood:
            values += [_cell(score.get(BITS_PER_BYTE)), _cell(score.get(LOGLIK_PER_TOKEN))]
        lines.append(f"| {task} | {score['problems']} | {result.settings['n']} | {' | '.join(values)} |")
    return "\n".join(lines) + "\n"


def _write_outputs(
    result: CheckpointResult, log_rows: list[dict], likelihood_rows: list[dict], fingerprint: str
) -> None:
    folder = Path(result.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if likelihood_rows:  # one line per continuation scored: its log-likelihood, bits, bytes and tokens
        with open(folder / "likelihoods.jsonl", "w", encoding="utf-8") as handle:
            for row in likelihood_rows:
                handle.write(json.dumps({**row, "task": row["task"].split("|")[0]}) + "\n")
    with open(folder / "samples.jsonl", "w", encoding="utf-8") as handle:
        for row in log_rows:
            for index, (completion, status) in enumerate(zip(row["completions"], row["statuses"])):
                handle.write(
                    json.dumps(
                        {
                            "task": row["task"].split("|")[0],
                            "task_id": row["task_id"],
                            "sample": index,
                            "completion": completion,
                            "status": status,
                        }
                    )
                    + "\n"
                )
    settings = result.settings
    decoding = "greedy" if settings["greedy"] else f"temperature {settings['temperature']}, top_p {settings['top_p']}"
    header = (
        f"# Evaluation of {result.checkpoint}\n\nstep {result.step}; n={settings['n']}, {decoding}, "
        f"max_new_tokens {settings['max_new_tokens']}; programs run in bubblewrap with a "
        f"{settings['sandbox']['wall_seconds']} s timeout.\n\n"
    )
    (folder / "results.md").write_text(header + results_table(result), encoding="utf-8")
    tmp = folder / f".{RESULTS_FILE}.tmp"
    tmp.write_text(json.dumps({**result.to_dict(), "fingerprint": fingerprint}, indent=2) + "\n", encoding="utf-8")
    tmp.replace(folder / RESULTS_FILE)


@dataclass
class SeriesResult:
    """One result per checkpoint, in step order, and the plot of pass@k against step."""

    checkpoints: list[CheckpointResult]
    output_dir: str
    plot: str | None

    def to_dict(self) -> dict:
        return {
            "checkpoints": [c.to_dict() for c in self.checkpoints],
            "output_dir": self.output_dir,
            "plot": self.plot,
        }


def evaluate_series(
    folder: str | Path,
    settings: EvalSettings,
    output_dir: str | Path,
    allow_code_execution: bool = False,
    show_progress: bool = True,
) -> SeriesResult:
    """Evaluate every checkpoint of `folder` (finished ones with the same settings are reused)."""
    if not all(task.likelihood for task in settings.tasks):
        require_opt_in(allow_code_execution)
    checkpoints = list_series(Path(folder))
    output_dir = Path(output_dir)
    results = [
        evaluate_checkpoint(c, settings, output_dir / c.name, allow_code_execution=True, show_progress=show_progress)
        for c in checkpoints
    ]
    plot = _plot_series(results, output_dir)
    series = SeriesResult(results, str(output_dir), str(plot) if plot else None)
    (output_dir / "series.json").write_text(json.dumps(series.to_dict(), indent=2) + "\n", encoding="utf-8")
    return series


def _plot_series(results: list[CheckpointResult], output_dir: Path) -> Path | None:
    stepped = [r for r in results if r.step is not None]
    if not stepped:
        return None
    lines, likelihood = {}, {}
    steps = [r.step for r in stepped]
    for task in stepped[0].scores:
        for key in (k for k in stepped[0].scores[task] if k.startswith("pass@") and not k.endswith("_stderr")):
            lines[f"{task} {key}"] = (steps, [r.scores[task][key] or 0.0 for r in stepped])
        if BITS_PER_BYTE in stepped[0].scores[task]:
            likelihood[f"{task} bits per byte"] = (steps, [r.scores[task][BITS_PER_BYTE] for r in stepped])
    if likelihood:
        line_chart(
            likelihood,
            "bits per byte of the canonical solutions against training step (lower is better)",
            "training step",
            "bits per byte",
            output_dir / "bits_per_byte.png",
            markers=True,
        )
    if not lines:
        return None
    settings = stepped[0].settings
    sampling = "greedy" if settings["greedy"] else f"T={settings['temperature']}"
    return line_chart(
        lines,
        f"pass@k against training step (n={settings['n']}, {sampling})",
        "training step",
        "pass@k",
        output_dir / "pass_at_k.png",
        markers=True,
    )
