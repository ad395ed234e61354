"""nanotron configs from a training recipe: the YAML, its validation, the batch math and the
launch commands (torchrun, and an sbatch script for Slurm).

The YAML follows nanotron's `Config` dataclasses at `NANOTRON_COMMIT` (keys as its loader,
`dacite` in strict mode, accepts them). `check_nanotron_config` makes, on the YAML mapping, every
check nanotron makes when it loads one (unknown keys, data stages, Nanoset metadata and vocabulary,
heads vs tp) and the ones it only meets at runtime or never (world size = dp*tp*pp, layers
divisible by pp), so a layout is refused on a laptop instead of on the cluster.

Nanotron cannot run on this CPU machine (flash-attn, NCCL and CUDA are required at import and
init), so `--launch` runs only where nanotron and GPUs exist; the launch goes through
`python -m bigcode_release.train.nanotron_entry`, which installs the Nanoset adapter first.
"""

from __future__ import annotations

import glob
import os
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from bigcode_release.errors import TrainConfigError
from bigcode_release.train.checks import model_problems, world_size_problems
from bigcode_release.train.inputs import TrainInputs
from bigcode_release.train.recipe import TrainRecipe

# Keys nanotron's dataclasses accept, per section (src/nanotron/config/*.py at NANOTRON_COMMIT).
KNOWN_KEYS: dict[str, set[str]] = {
    "": {
        "general",
        "parallelism",
        "model",
        "tokenizer",
        "checkpoints",
        "logging",
        "metrics_logging",
        "tokens",
        "optimizer",
        "data_stages",
        "profiler",
        "lighteval",
        "s3_upload",
    },
    "general": {
        "project",
        "run",
        "seed",
        "step",
        "consumed_train_samples",
        "benchmark_csv_path",
        "ignore_sanity_checks",
    },
    "parallelism": {
        "dp",
        "pp",
        "tp",
        "pp_engine",
        "tp_mode",
        "tp_linear_async_communication",
        "recompute_layer",
        "tp_recompute_allgather",
        "expert_parallel_size",
        "context_parallel_size",
    },
    "model": {"model_config", "init_method", "dtype", "make_vocab_size_divisible_by", "ddp_bucket_cap_mb"},
    "model.model_config": {
        "bos_token_id",
        "eos_token_id",
        "hidden_act",
        "hidden_size",
        "initializer_range",
        "intermediate_size",
        "is_llama_config",
        "max_position_embeddings",
        "num_attention_heads",
        "num_hidden_layers",
        "num_key_value_heads",
        "attention_bias",
        "pad_token_id",
        "pretraining_tp",
        "rms_norm_eps",
        "rope_scaling",
        "rope_theta",
        "rope_interleaved",
        "tie_word_embeddings",
        "use_cache",
        "vocab_size",
        "_attn_implementation",
        "z_loss_enabled",
        "z_loss_coefficient",
    },
    # nanotron's Starcoder2Config (models_config.py at NANOTRON_COMMIT)
    "model.model_config.starcoder2": {
        "activation_function",
        "attention_softmax_in_fp32",
        "attn_pdrop",
        "bos_token_id",
        "embd_pdrop",
        "eos_token_id",
        "global_attn_layers",
        "grouped_query",
        "hidden_size",
        "initializer_range",
        "intermediate_size",
        "is_starcoder2_config",
        "layer_norm_epsilon",
        "max_position_embeddings",
        "multi_query",
        "num_attention_heads",
        "num_hidden_layers",
        "num_kv_heads",
        "resid_pdrop",
        "rope_theta",
        "scale_attention_softmax_in_fp32",
        "scale_attn_weights",
        "sliding_window_size",
        "use_position_embeddings",
        "use_rotary_embeddings",
        "vocab_size",
        "_attn_implementation",
    },
    "tokenizer": {"tokenizer_name_or_path", "tokenizer_revision", "tokenizer_max_length"},
    "checkpoints": {
        "checkpoints_path",
        "checkpoint_interval",
        "save_initial_state",
        "save_final_state",
        "resume_checkpoint_path",
        "load_lr_scheduler",
        "load_optimizer",
        "checkpoints_path_is_shared_file_system",
    },
    "logging": {"log_level", "log_level_replica", "iteration_step_info_interval"},
    "tokens": {
        "sequence_length",
        "train_steps",
        "micro_batch_size",
        "batch_accumulation_per_replica",
        "val_check_interval",
        "limit_val_batches",
        "limit_test_batches",
    },
    "optimizer": {
        "optimizer_factory",
        "zero_stage",
        "weight_decay",
        "clip_grad",
        "accumulate_grad_in_fp32",
        "learning_rate_scheduler",
        "weight_decay_exclude_named_params",
    },
    "optimizer.learning_rate_scheduler": {
        "learning_rate",
        "lr_warmup_steps",
        "lr_warmup_style",
        "lr_decay_style",
        "lr_decay_steps",
        "lr_decay_starting_step",
        "min_decay_lr",
    },
    "optimizer.optimizer_factory": {"name", "adam_eps", "adam_beta1", "adam_beta2", "torch_adam_is_fused"},
    "data_stage": {"name", "start_training_step", "data", "sequence_length"},
    "data_stage.data": {"dataset", "seed", "num_loading_workers"},
    "data_stage.data.dataset": {
        "dataset_folder",
        "dataset_weights",
        "dataset_read_path",
        "tokenizer_name",
        "vocab_size",
        "token_size_in_bytes",
        "return_positions",
        "skip_in_stream",
        "pad_samples_to_global_batch_size",
        "dataset_max_tokens",
        "shuffle_files",
        "use_old_brrr_dataloader",
    },
}
REQUIRED_SECTIONS = ("general", "parallelism", "model")


@dataclass(frozen=True)
class BatchMath:
    """How many tokens a step consumes and how many steps the budget takes."""

    micro_batch_size: int
    gradient_accumulation: int
    dp: int
    global_batch_size: int
    sequence_length: int
    tokens_per_step: int
    train_steps: int
    total_tokens: int
    world_size: int
    nodes: int

    def to_dict(self) -> dict:
        return asdict(self)


def batch_math(recipe: TrainRecipe) -> BatchMath:
    """nanotron's batch arithmetic: gbs = mbs * accumulation * dp; tokens = gbs * seq per step."""
    world = recipe.parallelism.world_size
    return BatchMath(
        micro_batch_size=recipe.batch.micro_batch_size,
        gradient_accumulation=recipe.batch.gradient_accumulation,
        dp=recipe.parallelism.dp,
        global_batch_size=recipe.global_batch_size,
        sequence_length=recipe.batch.sequence_length,
        tokens_per_step=recipe.tokens_per_step,
        train_steps=recipe.train_steps,
        total_tokens=recipe.train_steps * recipe.tokens_per_step,
        world_size=world,
        nodes=-(-world // recipe.nanotron.gpus_per_node),
    )


def model_config(recipe: TrainRecipe, vocab_size: int, eos_id: int) -> dict:
    """nanotron's `model_config` for the recipe's architecture: a `LlamaConfig`, or a
    `Starcoder2Config` (which `nanotron_entry` makes loadable, see `patch_starcoder2_config`)."""
    model = recipe.model
    if model.architecture == "starcoder2":
        return {
            "is_starcoder2_config": True,
            "activation_function": "gelu_pytorch_tanh",
            "attention_softmax_in_fp32": True,
            "attn_pdrop": model.dropout,
            "embd_pdrop": model.dropout,
            "resid_pdrop": model.dropout,
            "bos_token_id": eos_id,
            "eos_token_id": eos_id,
            "global_attn_layers": [],
            "grouped_query": model.num_key_value_heads > 1,
            "multi_query": model.num_key_value_heads == 1,
            "num_kv_heads": model.num_key_value_heads,
            "hidden_size": model.hidden_size,
            "intermediate_size": model.intermediate_size,
            "initializer_range": model.initializer_range,
            "layer_norm_epsilon": model.rms_norm_eps,
            "max_position_embeddings": model.max_position_embeddings,
            "num_attention_heads": model.num_attention_heads,
            "num_hidden_layers": model.num_hidden_layers,
            "rope_theta": int(model.rope_theta),
            "scale_attn_weights": True,
            "sliding_window_size": model.sliding_window,
            "use_rotary_embeddings": True,
            "vocab_size": vocab_size,
        }
    return {
        "is_llama_config": True,
        "bos_token_id": eos_id,
        "eos_token_id": eos_id,
        "pad_token_id": None,
        "hidden_act": "silu",
        "hidden_size": model.hidden_size,
        "intermediate_size": model.intermediate_size,
        "num_hidden_layers": model.num_hidden_layers,
        "num_attention_heads": model.num_attention_heads,
        "num_key_value_heads": model.num_key_value_heads,
        "max_position_embeddings": model.max_position_embeddings,
        "initializer_range": model.initializer_range,
        "rms_norm_eps": model.rms_norm_eps,
        "rope_scaling": None,
        "rope_theta": model.rope_theta,
        "tie_word_embeddings": model.tie_word_embeddings,
        "use_cache": True,
        "pretraining_tp": 1,
        "vocab_size": vocab_size,
    }


def nanotron_config(recipe: TrainRecipe, inputs: TrainInputs, eos_id: int, run_dir: Path) -> dict:
    """The nanotron YAML mapping for the recipe, reading the tokenized train split with Nanoset;
    checkpoints go under `run_dir` unless `nanotron.checkpoints_path` is absolute."""
    model, par, opt = recipe.model, recipe.parallelism, recipe.optimizer
    return {
        "general": {
            "project": "bigcode-release",
            "run": recipe.name,
            "seed": recipe.seed,
            "step": None,
            "consumed_train_samples": None,
            "benchmark_csv_path": None,
            "ignore_sanity_checks": True,
        },
        "parallelism": {
            "dp": par.dp,
            "tp": par.tp,
            "pp": par.pp,
            "pp_engine": par.pp_engine,
            "tp_mode": par.tp_mode,
            "tp_linear_async_communication": par.tp_linear_async_communication,
            "recompute_layer": par.recompute_layer,
            "expert_parallel_size": 1,
            "context_parallel_size": 1,
        },
        "model": {
            "ddp_bucket_cap_mb": 25,
            "dtype": recipe.nanotron.dtype,
            "make_vocab_size_divisible_by": 1,
            "init_method": {"std": model.initializer_range},
            "model_config": model_config(recipe, inputs.vocab_size, eos_id),
        },
        "tokenizer": {
            "tokenizer_name_or_path": inputs.tokenizer_name,
            "tokenizer_revision": None,
            "tokenizer_max_length": None,
        },
        "checkpoints": {
            "checkpoints_path": str(Path(run_dir).resolve() / recipe.nanotron.checkpoints_path),
            "checkpoint_interval": recipe.checkpoints.interval,
            "save_initial_state": False,
            "save_final_state": True,
            "resume_checkpoint_path": None,
            "checkpoints_path_is_shared_file_system": False,
        },
        "logging": {"log_level": "info", "log_level_replica": "info", "iteration_step_info_interval": 1},
        "tokens": {
            "sequence_length": recipe.batch.sequence_length,
            "train_steps": recipe.train_steps,
            "micro_batch_size": recipe.batch.micro_batch_size,
            "batch_accumulation_per_replica": recipe.batch.gradient_accumulation,
            "val_check_interval": -1,
            "limit_val_batches": 0,
            "limit_test_batches": 0,
        },
        "optimizer": {
            "zero_stage": opt.zero_stage,
            "weight_decay": opt.weight_decay,
            "clip_grad": opt.clip_grad,
            "accumulate_grad_in_fp32": True,
            "optimizer_factory": {
                "name": "adamW",
                "adam_beta1": opt.adam_beta1,
                "adam_beta2": opt.adam_beta2,
                "adam_eps": opt.adam_eps,
                "torch_adam_is_fused": True,
            },
            "learning_rate_scheduler": {
                "learning_rate": opt.learning_rate,
                "lr_warmup_steps": opt.warmup_steps,
                "lr_warmup_style": "linear",
                "lr_decay_style": opt.decay_style,
                "lr_decay_steps": recipe.train_steps - opt.warmup_steps,
                "lr_decay_starting_step": None,
                "min_decay_lr": opt.min_learning_rate,
            },
        },
        "data_stages": [
            {
                "name": "pretraining",
                "start_training_step": 1,
                "data": {
                    "seed": recipe.seed,
                    "num_loading_workers": 1,
                    "dataset": {
                        "dataset_folder": [str(inputs.train_dir)],
                        "dataset_weights": [1.0],
                        "tokenizer_name": inputs.tokenizer_name,
                        "vocab_size": inputs.vocab_size,
                        "token_size_in_bytes": inputs.token_size,
                        "return_positions": True,
                    },
                },
            }
        ],
    }


def _unknown_keys(section: str, mapping: object, problems: list, known: str | None = None) -> None:
    if not isinstance(mapping, dict):
        problems.append((section or "<root>", f"must be a mapping, got {type(mapping).__name__}", "fix the YAML"))
        return
    for key in sorted(set(mapping) - KNOWN_KEYS[known or section]):
        problems.append(
            (
                f"{section}.{key}".lstrip("."),
                "unknown key: nanotron's loader (dacite, strict) refuses it",
                "remove it or check the spelling against nanotron's config dataclasses",
            )
        )


def _metadata_of(folder: str) -> tuple[str, int] | None:
    files = sorted(glob.glob(os.path.join(folder, "*.metadata")))
    if not files:
        return None
    first = Path(files[0]).read_text(encoding="utf-8").splitlines()[0]
    name, _, size = first.rpartition("|")
    return name, int(size)


def _data_stage_problems(config: dict, problems: list) -> None:
    stages = config.get("data_stages") or []
    names = [s.get("name") for s in stages]
    starts = [s.get("start_training_step") for s in stages]
    if stages and 1 not in starts:
        problems.append(
            ("data_stages", "no stage starts at training step 1", "set start_training_step: 1 on the first")
        )
    if len(set(names)) < len(names):
        problems.append(("data_stages", f"stage names repeat: {names}", "give each stage its own name"))
    if len(set(starts)) < len(starts):
        problems.append(("data_stages", f"start steps repeat: {starts}", "give each stage its own start step"))
    if any(not isinstance(s, int) or s < 0 for s in starts):
        problems.append(("data_stages", f"start steps must be integers >= 0: {starts}", "fix start_training_step"))
    model_config = config.get("model", {}).get("model_config", {})
    tokenizer = (config.get("tokenizer") or {}).get("tokenizer_name_or_path")
    for index, stage in enumerate(stages):
        _unknown_keys("data_stage", stage, problems)
        data = stage.get("data") or {}
        _unknown_keys("data_stage.data", data, problems)
        dataset = data.get("dataset")
        if not isinstance(dataset, dict) or "dataset_folder" not in dataset:
            continue
        _unknown_keys("data_stage.data.dataset", dataset, problems)
        folders = dataset["dataset_folder"]
        folders = [folders] if isinstance(folders, str) else folders
        key = f"data_stages[{index}].data.dataset"
        for name in ("dataset_weights", "dataset_read_path"):
            if dataset.get(name) is not None and len(dataset[name]) != len(folders):
                problems.append(
                    (
                        f"{key}.{name}",
                        f"{len(dataset[name])} entries for {len(folders)} folders",
                        "give one entry per dataset folder",
                    )
                )
        found = {folder: _metadata_of(folder) for folder in folders}
        for folder, meta in found.items():
            if meta is None:
                problems.append(
                    (
                        f"{key}.dataset_folder",
                        f"{folder} has no .metadata file",
                        "point it at a folder written by `bigcode-release tokenize`",
                    )
                )
        metas = {meta for meta in found.values() if meta}
        if len(metas) > 1:
            problems.append(
                (
                    f"{key}.dataset_folder",
                    f"folders disagree on tokenizer/token size: {sorted(metas)}",
                    "tokenize every folder with the same tokenizer",
                )
            )
        for name, size in metas:
            if tokenizer is not None and tokenizer != name:
                problems.append(
                    (
                        "tokenizer.tokenizer_name_or_path",
                        f"{tokenizer!r} but the shards were tokenized with {name!r}",
                        "use the name in the shards' .metadata",
                    )
                )
            if dataset.get("token_size_in_bytes") not in (None, size):
                problems.append(
                    (
                        f"{key}.token_size_in_bytes",
                        f"{dataset['token_size_in_bytes']} but the shards hold {size}-byte tokens",
                        f"set it to {size}",
                    )
                )
        vocab = dataset.get("vocab_size")
        if vocab is not None and model_config.get("vocab_size") not in (-1, vocab):
            problems.append(
                (
                    "model.model_config.vocab_size",
                    f"{model_config.get('vocab_size')} but the dataset's tokenizer has {vocab} tokens",
                    f"set it to {vocab} (or -1 to adopt it)",
                )
            )


def _kv_heads(model_config: dict, heads: int) -> int:
    """KV heads of a nanotron model config: Starcoder2Config's multi-query means one."""
    if model_config.get("is_starcoder2_config"):
        return 1 if model_config.get("multi_query") else model_config.get("num_kv_heads") or heads
    return model_config.get("num_key_value_heads") or heads


def check_nanotron_config(config: dict, world_size: int | None = None) -> list[tuple[str, str, str]]:
    """Every problem of a nanotron config mapping, as `(key, problem, fix)`."""
    problems: list[tuple[str, str, str]] = []
    _unknown_keys("", config, problems)
    if problems and not isinstance(config, dict):
        return problems
    for section in REQUIRED_SECTIONS:
        if section not in config:
            problems.append((section, "required section is missing", f"add a `{section}:` section"))
    for section in ("general", "parallelism", "model", "tokenizer", "checkpoints", "logging", "tokens", "optimizer"):
        if config.get(section) is not None:
            _unknown_keys(section, config[section], problems)
    model = config.get("model") or {}
    if isinstance(model.get("model_config"), dict):
        starcoder2 = model["model_config"].get("is_starcoder2_config")
        known = "model.model_config.starcoder2" if starcoder2 else None
        _unknown_keys("model.model_config", model["model_config"], problems, known)
    optimizer = config.get("optimizer") or {}
    for sub in ("learning_rate_scheduler", "optimizer_factory"):
        if isinstance(optimizer.get(sub), dict):
            _unknown_keys(f"optimizer.{sub}", optimizer[sub], problems)
    _data_stage_problems(config, problems)
    par, mc = config.get("parallelism") or {}, model.get("model_config") or {}
    if par and mc:
        heads = mc.get("num_attention_heads", 0)
        problems += model_problems(
            heads,
            _kv_heads(mc, heads),
            mc.get("hidden_size", 0),
            mc.get("num_hidden_layers", 0),
            par.get("tp", 1),
            par.get("pp", 1),
        )
        problems += world_size_problems(par.get("dp", 1), par.get("tp", 1), par.get("pp", 1), world_size)
    return problems


def write_nanotron_config(config: dict, path: Path, world_size: int | None = None) -> Path:
    """Validate, then write the YAML. Raises `TrainConfigError` with every problem and its fix."""
    problems = check_nanotron_config(config, world_size)
    if problems:
        raise TrainConfigError(str(path), problems)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def launch_commands(recipe: TrainRecipe, config_path: Path, nanotron_repo: str = "$NANOTRON_REPO") -> dict[str, str]:
    """`torchrun` (one node) and an `sbatch` script (nodes as needed) running nanotron on the config."""
    math = batch_math(recipe)
    per_node = min(recipe.nanotron.gpus_per_node, math.world_size)
    entry = (
        f"-m bigcode_release.train.nanotron_entry --nanotron-repo {nanotron_repo} "
        f"--config-file {shlex.quote(str(config_path))}"
    )
    torchrun = f"CUDA_DEVICE_MAX_CONNECTIONS=1 torchrun --nproc_per_node={per_node} {entry}"
    slurm = recipe.nanotron.slurm
    extra = "".join(
        f"#SBATCH --{name}={value}\n" for name, value in (("account", slurm.account), ("qos", slurm.qos)) if value
    )
    sbatch = f"""#!/bin/bash
#SBATCH --job-name=nanotron-{recipe.name}
#SBATCH --nodes={math.nodes}
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node={recipe.nanotron.gpus_per_node}
#SBATCH --cpus-per-task={slurm.cpus_per_task}
#SBATCH --partition={slurm.partition}
#SBATCH --time={slurm.time}
#SBATCH --exclusive
{extra}#SBATCH --output=%x-%j.out
# world size {math.world_size} = dp {recipe.parallelism.dp} x tp {recipe.parallelism.tp} x pp {recipe.parallelism.pp}
set -euo pipefail
export CUDA_DEVICE_MAX_CONNECTIONS=1
MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
srun torchrun --nnodes={math.nodes} --nproc_per_node={per_node} \\
  --rdzv_backend=c10d --rdzv_endpoint="$MASTER_ADDR:29500" --rdzv_id="$SLURM_JOB_ID" \\
  {entry}
"""
    return {"torchrun": torchrun, "sbatch": sbatch}
