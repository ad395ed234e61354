"""The torch engine: a transformers Llama trained on the tokenized shards on CPU (or one GPU per
process), data parallel with DDP when launched by `torchrun` (gloo on CPU).

Per optimizer step, every rank takes its contiguous share of the global batch (a function of the
step only), applies FIM per sample, accumulates micro batches, and the loss is the sum of token
losses over the *global* batch divided by its number of target tokens: one process with
accumulation and several processes give the same gradients. The loss is computed chunk by chunk
without the batch's full logits (`train/loss.py`). bf16 autocast where the CPU has bf16 units, gradient clipping,
warmup + cosine schedule, validation loss, checkpoints in transformers format, resume.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from bigcode_release.errors import TrainingError
from bigcode_release.hardware import machine
from bigcode_release.manifest import content_hash, read_manifest, tool_versions, write_manifest
from bigcode_release.tokenizer.special_tokens import END_OF_TEXT
from bigcode_release.train.checkpoint import list_checkpoints, load_training_state, save_checkpoint
from bigcode_release.train.checks import check_recipe
from bigcode_release.train.data import IGNORE_INDEX, PackedSamples, SampleOrder, TrainStream, make_batch, rank_positions
from bigcode_release.train.fim import FimTransform
from bigcode_release.train.inputs import TrainInputs, default_run_dir, resolve_inputs
from bigcode_release.train.loss import CausalLMLoss
from bigcode_release.train.model import count_parameters, llama_config, training_flops
from bigcode_release.train.processes import ProcessRecord, run_processes
from bigcode_release.train.recipe import TrainRecipe
from bigcode_release.train.runlog import RunLog, plot_losses
from bigcode_release.train.schedule import learning_rate
from bigcode_release.train.step import optimizer_step


@dataclass(frozen=True)
class TrainResult:
    """What a run did and measured."""

    run_dir: str
    steps: int
    resumed_from: int
    tokens: int
    parameters: int
    world_size: int
    final_train_loss: float
    first_val_loss: float | None
    final_val_loss: float | None
    wall_seconds: float
    tokens_per_second: float
    flops: float
    last_checkpoint: str | None

    def to_dict(self) -> dict:
        return asdict(self)


class _Distributed:
    """Rank and world size from torchrun's environment; one process when absent."""

    def __init__(self, backend: str):
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        if self.world_size > 1 and not dist.is_initialized():
            dist.init_process_group(backend)

    def sum(self, value: float) -> float:
        if self.world_size == 1:
            return value
        tensor = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(tensor)
        return float(tensor.item())

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world_size > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _optimizer(model: torch.nn.Module, recipe: TrainRecipe) -> torch.optim.Optimizer:
    params = {id(p): p for p in model.parameters() if p.requires_grad}.values()
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = recipe.optimizer
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": opt.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=opt.learning_rate,
        betas=(opt.adam_beta1, opt.adam_beta2),
        eps=opt.adam_eps,
    )


def compute_dtype(requested: str) -> str:
    """The autocast dtype to use. `auto` picks bfloat16 only where the CPU has bf16 matmul support
    (oneDNN reports it): on AVX2-only CPUs bf16 matmuls are emulated and measured here ~100x slower
    than float32."""
    if requested != "auto":
        return requested
    return "bfloat16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "float32"


def _autocast(recipe: TrainRecipe):
    if compute_dtype(recipe.torch.dtype) == "float32":
        return contextlib.nullcontext()
    return torch.autocast("cpu", dtype=torch.bfloat16)


def _token_loss_sum(
    loss_model: CausalLMLoss, inputs: torch.Tensor, labels: torch.Tensor, recipe: TrainRecipe
) -> torch.Tensor:
    with _autocast(recipe):
        return loss_model(inputs, labels)


@torch.no_grad()
def validation_loss(model: CausalLMLoss, samples: PackedSamples, recipe: TrainRecipe, ddp: _Distributed) -> float:
    """Mean token loss over the first `validation.batches` micro batches of the validation split
    (in file order, no FIM), shared between ranks."""
    model.eval()
    count = min(len(samples), recipe.validation.batches * recipe.batch.micro_batch_size)
    mine = range(ddp.rank, count, ddp.world_size)
    loss = tokens = 0.0
    mbs = recipe.batch.micro_batch_size
    for start in range(0, len(mine), mbs):
        inputs, labels = make_batch([samples[i] for i in mine[start : start + mbs]], None)
        loss += float(_token_loss_sum(model, inputs, labels, recipe))
        tokens += float((labels != IGNORE_INDEX).sum())
    model.train()
    return ddp.sum(loss) / max(ddp.sum(tokens), 1.0)


def _build_model(recipe: TrainRecipe, inputs: TrainInputs):
    from tokenizers import Tokenizer
    from transformers import LlamaForCausalLM

    tokenizer = Tokenizer.from_file(str(inputs.tokenizer_dir / "tokenizer.json"))
    eos = tokenizer.token_to_id(END_OF_TEXT)
    torch.manual_seed(recipe.seed)
    model = LlamaForCausalLM(llama_config(recipe.model, inputs.vocab_size, eos, eos))
    return model, tokenizer


def train_torch(
    recipe: TrainRecipe,
    origin: str = "<recipe>",
    run_dir: str | Path | None = None,
    stop_after: int | None = None,
    show_progress: bool = True,
) -> TrainResult:
    """Train (or resume) the recipe's run with the torch engine.

    `stop_after` ends the process's work after that many steps of this invocation (a checkpoint
    is written there), as an interruption would; a re-run resumes from the last checkpoint.
    """
    ddp = _Distributed(recipe.torch.backend)
    try:
        return _train(
            recipe,
            origin,
            Path(run_dir) if run_dir else default_run_dir(recipe),
            ddp,
            stop_after,
            show_progress and ddp.rank == 0,
        )
    finally:
        ddp.close()


def _train(
    recipe: TrainRecipe, origin: str, run_dir: Path, ddp: _Distributed, stop_after: int | None, show: bool
) -> TrainResult:
    check_recipe(recipe, "torch", origin, world_size=ddp.world_size)
    torch.set_num_threads(recipe.torch.threads or max(1, (os.cpu_count() or 1) // ddp.world_size))
    inputs = resolve_inputs(recipe)
    seq = recipe.batch.sequence_length
    train_samples = PackedSamples(inputs.train_dir, seq, inputs.vocab_size)
    val_samples = PackedSamples(inputs.validation_dir, seq, inputs.vocab_size)
    model, tokenizer = _build_model(recipe, inputs)
    optimizer = _optimizer(model, recipe)
    run_dir.mkdir(parents=True, exist_ok=True)

    start_step, first_val, train_loss, val_loss = 0, None, float("nan"), None
    tokenized = read_manifest(inputs.tokenized_dir) or {}
    data_hash = tokenized.get("manifest_hash", "")
    checkpoints = list_checkpoints(run_dir)
    if checkpoints:
        state = load_training_state(checkpoints[-1], model, optimizer)
        if state.get("recipe_hash") != _recipe_hash(recipe):
            raise TrainingError(
                f"{checkpoints[-1]} was written by another recipe; use a new run name or delete {run_dir}"
            )
        if state.get("tokenized_manifest_hash") != data_hash:
            version = tokenized.get("inputs", {}).get("dataset_version", "?")
            if "tokenized_manifest_hash" not in state:
                raise TrainingError(
                    f"{checkpoints[-1]} was written before runs recorded their data, so it cannot be resumed "
                    f"on {inputs.tokenized_dir} safely: start a new run with --run-dir "
                    f"{run_dir.parent / f'{recipe.name}-{version}'}"
                )
            raise TrainingError(
                f"{run_dir} trained on other data (tokenized manifest {str(state.get('tokenized_manifest_hash'))[:12]}) "
                f"than {inputs.tokenized_dir} ({data_hash[:12]}, dataset {version}); a run never resumes on other "
                f"data: start a new run with --run-dir {run_dir.parent / f'{recipe.name}-{version}'} "
                "(or give the recipe another name)"
            )
        start_step, first_val = state["step"], state.get("first_val_loss")
        train_loss, val_loss = state.get("train_loss", float("nan")), state.get("val_loss")
    fim = FimTransform(tokenizer, recipe.fim.rate, recipe.fim.spm_rate, recipe.seed) if recipe.fim.rate > 0 else None
    stream = TrainStream(
        train_samples, SampleOrder(len(train_samples), recipe.seed), fim, recipe.batch.micro_batch_size
    )
    loss_model = CausalLMLoss(model)
    wrapped = loss_model
    if ddp.world_size > 1:
        wrapped = torch.nn.parallel.DistributedDataParallel(loss_model)
    log = RunLog(run_dir / "log.csv", resume_step=start_step) if ddp.rank == 0 else None
    total_steps, gbs = recipe.train_steps, recipe.global_batch_size
    end_step = total_steps if stop_after is None else min(total_steps, start_step + stop_after)
    if first_val is None:
        first_val = validation_loss(loss_model, val_samples, recipe, ddp)
        if log:
            log.append(step=0, tokens=0, val_loss=f"{first_val:.5f}")

    bar = tqdm(
        total=total_steps,
        initial=start_step,
        unit="step",
        desc=f"training {recipe.name}",
        disable=not show,
        dynamic_ncols=True,
    )
    if start_step and show:
        bar.write(f"resuming from {checkpoints[-1]} (step {start_step})", file=sys.stderr)
    start_time, tokens_done = time.perf_counter(), 0
    process = ProcessRecord(run_dir, start_step, _hardware()) if ddp.rank == 0 else None
    for step in range(start_step, end_step):
        lr = learning_rate(
            step,
            recipe.optimizer.learning_rate,
            recipe.optimizer.min_learning_rate,
            recipe.optimizer.warmup_steps,
            total_steps,
            recipe.optimizer.decay_style,
        )
        stepped = optimizer_step(
            optimizer,
            model.parameters(),
            stream.micro_batches(rank_positions(step, gbs, ddp.rank, ddp.world_size)),
            lambda inputs, labels: _token_loss_sum(wrapped, inputs, labels, recipe),
            lambda labels: (labels != IGNORE_INDEX).sum(),
            lr,
            recipe.optimizer.clip_grad,
            all_reduce_sum=ddp.sum,
            world_size=ddp.world_size,
            no_sync=wrapped.no_sync if ddp.world_size > 1 else None,
        )
        train_loss, grad_norm = stepped.loss, stepped.grad_norm
        tokens_done += gbs * seq
        done = step + 1
        val_loss = None
        if done % recipe.validation.interval == 0 or done == total_steps:
            val_loss = validation_loss(loss_model, val_samples, recipe, ddp)
        elapsed = time.perf_counter() - start_time
        if log:
            log.append(
                step=done,
                tokens=done * gbs * seq,
                learning_rate=f"{lr:.6g}",
                train_loss=f"{train_loss:.5f}",
                val_loss=f"{val_loss:.5f}" if val_loss is not None else "",
                grad_norm=f"{grad_norm:.4f}",
                tokens_per_second=f"{tokens_done / elapsed:.1f}",
                elapsed_s=f"{elapsed:.1f}",
            )
        if process is not None:
            process.sample()
        bar.update(1)
        bar.set_postfix_str(f"loss {train_loss:.3f}, {tokens_done / elapsed:,.0f} tok/s", refresh=False)
        if done % recipe.checkpoints.interval == 0 or done == end_step:
            if ddp.rank == 0:
                save_checkpoint(
                    run_dir,
                    done,
                    model,
                    optimizer,
                    inputs.tokenizer_dir,
                    {
                        "recipe_hash": _recipe_hash(recipe),
                        "tokenized_manifest_hash": data_hash,
                        "first_val_loss": first_val,
                        "val_loss": val_loss,
                        "train_loss": train_loss,
                        "tokens": done * gbs * seq,
                    },
                    keep=recipe.checkpoints.keep,
                )
                process.update(done, tokens_done)
            ddp.barrier()
    bar.close()
    wall = time.perf_counter() - start_time
    if process is not None:
        process.update(max(end_step, start_step), tokens_done)
    last = list_checkpoints(run_dir)
    final_step = max(end_step, start_step)
    parameters = count_parameters(model)
    result = TrainResult(
        run_dir=str(run_dir),
        steps=final_step,
        resumed_from=start_step,
        tokens=final_step * gbs * seq,
        parameters=parameters,
        world_size=ddp.world_size,
        final_train_loss=round(train_loss, 5),
        first_val_loss=round(first_val, 5) if first_val is not None else None,
        final_val_loss=round(val_loss, 5) if val_loss is not None else None,
        wall_seconds=round(wall, 1),
        tokens_per_second=round(tokens_done / wall, 1) if wall > 0 else 0.0,
        flops=training_flops(parameters, final_step * gbs * seq),
        last_checkpoint=str(last[-1]) if last else None,
    )
    if ddp.rank == 0:
        plot_losses(run_dir / "log.csv", run_dir / "loss.png", f"{recipe.name}: loss")
        _write_run_manifest(run_dir, recipe, inputs, result, train_samples.tokens)
    return result


def _recipe_hash(recipe: TrainRecipe) -> str:
    return content_hash(recipe.model_dump(mode="json", exclude={"data", "nanotron"}))


def _write_run_manifest(
    run_dir: Path, recipe: TrainRecipe, inputs: TrainInputs, result: TrainResult, available_tokens: int
) -> None:
    tokenized = read_manifest(inputs.tokenized_dir) or {}
    write_manifest(
        run_dir,
        {
            "kind": "training-run",
            "engine": "torch",
            "compute_dtype": compute_dtype(recipe.torch.dtype),
            "recipe": recipe.model_dump(mode="json", exclude={"data"}),
            "recipe_hash": _recipe_hash(recipe),
            "inputs": {
                "tokenized_manifest_hash": tokenized.get("manifest_hash", ""),
                "dataset_version": tokenized.get("inputs", {}).get("dataset_version", ""),
                "dataset_manifest_hash": tokenized.get("inputs", {}).get("dataset_manifest_hash", ""),
                "tokenizer_manifest_hash": tokenized.get("inputs", {}).get("tokenizer_manifest_hash", ""),
            },
            "counts": {
                "steps": result.steps,
                "tokens": result.tokens,
                "parameters": result.parameters,
                "global_batch_size": recipe.global_batch_size,
                "sequence_length": recipe.batch.sequence_length,
                "train_tokens_available": available_tokens,
                "epochs": round(result.tokens / available_tokens, 4),
            },
            "tools": tool_versions("torch", "transformers", "tokenizers"),
        },
        run={
            **{k: v for k, v in result.to_dict().items() if k not in ("run_dir",)},
            "hardware": _hardware(),
            "processes": run_processes(run_dir),  # every process of the run, resumes included
        },
    )


def _hardware() -> dict:
    """The machine, read from it (the torch engine trains on CPU; see `bigcode_release.hardware`)."""
    return {
        **machine(torch, "cpu"),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_threads": torch.get_num_threads(),
    }
