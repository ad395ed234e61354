"""Training recipes: the model, its parallel layout, batch, optimizer, FIM, data and checkpoints,
checked against a typed schema before any work starts. One recipe drives both engines: the torch
engine (CPU or one GPU, data parallel over gloo) and nanotron (GPUs, 3D parallel).

Example:
    >>> recipe = load_train_recipe("recipes/train-tiny.yaml")
    >>> recipe.batch.sequence_length
    512
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from bigcode_release.recipe import Strict, load_model_file
from bigcode_release.shipped import recipe_base_dir

NANOTRON_COMMIT = "2411b022a75fb7f7561a1bb4166706da5e1b76de"


class ModelConfig(Strict):
    """A decoder with grouped-query attention: `llama` (gated SiLU MLP, RMSNorm, no biases; both
    engines) or `starcoder2` (StarCoder2's blocks: GELU MLP, LayerNorm, biases, sliding-window
    attention; nanotron's `Starcoder2ForTraining`, so nanotron only)."""

    architecture: Literal["llama", "starcoder2"] = "llama"
    hidden_size: int = Field(default=256, gt=0)
    num_hidden_layers: int = Field(default=4, gt=0)
    num_attention_heads: int = Field(default=4, gt=0)
    num_key_value_heads: int = Field(default=2, gt=0, description="grouped-query attention: fewer KV heads")
    intermediate_size: int = Field(default=688, gt=0)
    max_position_embeddings: int = Field(default=4096, gt=0)
    rope_theta: float = Field(default=100000.0, gt=0)
    rms_norm_eps: float = Field(default=1e-5, gt=0, description="the norms' epsilon (LayerNorm's for starcoder2)")
    initializer_range: float = Field(default=0.02, gt=0)
    tie_word_embeddings: bool = True
    vocab_size: int = Field(default=-1, description="-1: the tokenizer's vocabulary size")
    sliding_window: int | None = Field(default=None, gt=0, description="starcoder2: attention window in tokens")
    dropout: float = Field(default=0.0, ge=0, lt=1, description="starcoder2: embedding, attention, residual dropout")

    @model_validator(mode="after")
    def _architecture_fits(self) -> ModelConfig:
        if self.architecture == "llama" and (self.sliding_window is not None or self.dropout):
            raise ValueError("sliding_window and dropout are starcoder2 settings; the llama blocks have neither")
        if self.architecture == "starcoder2":
            if not self.tie_word_embeddings:
                raise ValueError("nanotron's Starcoder2 model always ties the embeddings and the output layer")
            if self.rope_theta != int(self.rope_theta):
                raise ValueError(
                    f"rope_theta {self.rope_theta} is not a whole number; nanotron's Starcoder2Config takes an int "
                    f"(StarCoder2-3B's 999999.442 is written 999999)"
                )
        return self


class ParallelismConfig(Strict):
    """nanotron's layout; the torch engine runs data parallel only (tp = pp = 1)."""

    dp: int = Field(default=1, gt=0)
    tp: int = Field(default=1, gt=0)
    pp: int = Field(default=1, gt=0)
    pp_engine: Literal["1f1b", "afab"] = "1f1b"
    tp_mode: Literal["ALL_REDUCE", "REDUCE_SCATTER"] = "REDUCE_SCATTER"
    tp_linear_async_communication: bool = True
    recompute_layer: bool = False

    @property
    def world_size(self) -> int:
        return self.dp * self.tp * self.pp


class BatchConfig(Strict):
    sequence_length: int = Field(default=512, gt=0)
    micro_batch_size: int = Field(default=8, gt=0, description="sequences per device per forward pass")
    gradient_accumulation: int = Field(default=1, gt=0, description="micro batches per optimizer step and replica")
    train_steps: int | None = Field(default=None, gt=0)
    token_budget: int | None = Field(default=None, gt=0, description="tokens to train on; sets train_steps")

    @model_validator(mode="after")
    def _one_length(self) -> BatchConfig:
        if (self.train_steps is None) == (self.token_budget is None):
            raise ValueError("set exactly one of train_steps and token_budget")
        return self


class OptimizerConfig(Strict):
    learning_rate: float = Field(default=1e-3, gt=0)
    min_learning_rate: float = Field(default=1e-4, ge=0)
    warmup_steps: int = Field(default=20, ge=0)
    decay_style: Literal["cosine", "linear"] = "cosine"
    weight_decay: float = Field(default=0.1, ge=0)
    adam_beta1: float = Field(default=0.9, ge=0, lt=1)
    adam_beta2: float = Field(default=0.95, ge=0, lt=1)
    adam_eps: float = Field(default=1e-8, gt=0)
    clip_grad: float = Field(default=1.0, gt=0)
    zero_stage: Literal[0, 1] = 0

    @model_validator(mode="after")
    def _lr_ordered(self) -> OptimizerConfig:
        if self.min_learning_rate > self.learning_rate:
            raise ValueError(
                f"min_learning_rate ({self.min_learning_rate}) is above learning_rate ({self.learning_rate})"
            )
        return self


class FimConfig(Strict):
    """BigCode's FIM rates (0.5, 0.5); `rate: 0` turns FIM off."""

    rate: float = Field(default=0.5, ge=0, le=1)
    spm_rate: float = Field(default=0.5, ge=0, le=1)


class DataConfig(Strict):
    release: Path = Field(default=Path("../release"), description="release directory (relative to the recipe)")
    dataset_version: str | None = Field(default=None, description="default: the release's current version")
    tokenized: Path | None = Field(default=None, description="a tokenized folder with train/ and validation/")
    validation: Path | None = Field(default=None, description="another validation folder (ablations share one)")


class CheckpointConfig(Strict):
    interval: int = Field(default=100, gt=0, description="steps between checkpoints")
    keep: int | None = Field(default=None, gt=0, description="keep only the last N checkpoints")


class ValidationConfig(Strict):
    interval: int = Field(default=50, gt=0, description="steps between validation passes")
    batches: int = Field(default=8, gt=0, description="micro batches per validation pass")


class TorchEngineConfig(Strict):
    dtype: Literal["auto", "bfloat16", "float32"] = Field(
        default="auto", description="autocast dtype; auto: bfloat16 where the CPU has bf16 matmul units, else float32"
    )
    threads: int | None = Field(default=None, gt=0, description="torch threads per process; default: cores / dp")
    backend: Literal["gloo", "nccl"] = "gloo"


class SlurmConfig(Strict):
    partition: str = "gpu"
    time: str = "72:00:00"
    gpus_per_node: int = Field(default=8, gt=0)
    cpus_per_task: int = Field(default=88, gt=0)
    account: str | None = None
    qos: str | None = None


class NanotronConfig(Strict):
    commit: str = Field(default=NANOTRON_COMMIT, description="the nanotron commit these configs are checked against")
    dtype: Literal["bfloat16", "float32"] = "bfloat16"
    checkpoints_path: str = Field(default="checkpoints", description="relative to the run directory, or absolute")
    gpus_per_node: int = Field(default=8, gt=0)
    slurm: SlurmConfig = SlurmConfig()


class TrainRecipe(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    seed: int = 0
    model: ModelConfig = ModelConfig()
    parallelism: ParallelismConfig = ParallelismConfig()
    batch: BatchConfig
    optimizer: OptimizerConfig = OptimizerConfig()
    fim: FimConfig = FimConfig()
    data: DataConfig = DataConfig()
    checkpoints: CheckpointConfig = CheckpointConfig()
    validation: ValidationConfig = ValidationConfig()
    torch: TorchEngineConfig = TorchEngineConfig()
    nanotron: NanotronConfig = NanotronConfig()

    @property
    def global_batch_size(self) -> int:
        """Sequences per optimizer step, over all replicas."""
        return self.batch.micro_batch_size * self.batch.gradient_accumulation * self.parallelism.dp

    @property
    def tokens_per_step(self) -> int:
        return self.global_batch_size * self.batch.sequence_length

    @property
    def train_steps(self) -> int:
        if self.batch.train_steps is not None:
            return self.batch.train_steps
        return -(-self.batch.token_budget // self.tokens_per_step)


def load_train_recipe(path: str | Path) -> TrainRecipe:
    """Load and validate a training recipe. Relative paths resolve against the recipe's folder.

    Raises:
        RecipeError: the file is missing, not YAML, or breaks the schema (every problem listed).
    """
    path = Path(path)
    recipe = load_model_file(TrainRecipe, path)
    base = recipe_base_dir(path)
    data = recipe.data.model_copy(
        update={
            "release": (base / recipe.data.release).resolve(),
            "tokenized": (base / recipe.data.tokenized).resolve() if recipe.data.tokenized else None,
            "validation": (base / recipe.data.validation).resolve() if recipe.data.validation else None,
        }
    )
    return recipe.model_copy(update={"data": data})
