"""Fine-tuning settings: LoRA shape, packing, FIM, optimisation. From a YAML recipe, flags, or both
(flags win), checked before any work."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from bigcode_release.recipe import Strict, load_model_file, validate_model


class FinetuneSettings(Strict):
    """Everything that shapes a LoRA run (see `bigcode-release finetune --help`)."""

    r: int = Field(default=16, ge=1, description="LoRA rank")
    alpha: float = Field(default=32.0, gt=0, description="LoRA scaling numerator (scale = alpha / r)")
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: str | list[str] = Field(default="all-linear", description="'all-linear' or module names")
    sequence_length: int = Field(default=512, ge=16)
    micro_batch_size: int = Field(default=4, ge=1)
    epochs: float = Field(default=3.0, gt=0)
    max_steps: int | None = Field(default=None, ge=1, description="overrides epochs")
    learning_rate: float = Field(default=2e-4, gt=0)
    min_learning_rate: float = Field(default=2e-5, ge=0)
    warmup_steps: int = Field(default=10, ge=0)
    weight_decay: float = Field(default=0.0, ge=0)
    grad_clip: float = Field(default=1.0, gt=0)
    fim_rate: float = Field(default=0.5, ge=0, le=1)
    fim_spm_rate: float = Field(default=0.5, ge=0, le=1)
    validation_fraction: float = Field(default=0.1, ge=0, lt=1)
    eval_interval: int = Field(default=25, ge=1)
    seed: int = 0
    load_in_4bit: bool = Field(default=False, description="QLoRA: base weights in 4-bit NF4 (CUDA + bitsandbytes)")

    @model_validator(mode="after")
    def _floor_below_peak(self) -> FinetuneSettings:
        if self.min_learning_rate > self.learning_rate:
            raise ValueError(
                f"min_learning_rate ({self.min_learning_rate}) is above learning_rate ({self.learning_rate})"
            )
        return self


def load_settings(recipe: Path | None, overrides: dict) -> FinetuneSettings:
    """The recipe's settings (or the defaults) with the given flags on top; `RecipeError` lists
    every problem with its key."""
    base: dict = {}
    if recipe is not None:
        base = load_model_file(FinetuneSettings, recipe).model_dump(exclude_unset=True)
    merged = {**base, **{key: value for key, value in overrides.items() if value is not None}}
    origin = f"{recipe} with flags" if recipe is not None else "finetune flags"
    return validate_model(FinetuneSettings, merged, base_dir=Path.cwd(), origin=origin)
