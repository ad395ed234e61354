"""Checkpoints in transformers format (safetensors + config + tokenizer, loadable with
`AutoModelForCausalLM`), plus the optimizer and run state a resume needs.

`<run>/checkpoints/step-000200/` is written under a temporary name and renamed when complete, so
a crash mid-save never leaves a checkpoint that looks complete.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from bigcode_release.errors import TrainingError
from bigcode_release.layout import RUN_STATE_FILE, checkpoint_dir, list_checkpoints

STATE_FILE = "training_state.pt"
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def save_checkpoint(
    run_dir: Path, step: int, model, optimizer, tokenizer_dir: Path, run_state: dict, keep: int | None = None
) -> Path:
    """Write the checkpoint of `step` (model, tokenizer, optimizer, run state); prune old ones."""
    final = checkpoint_dir(run_dir, step)
    tmp = final.with_name(f".{final.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    for name in _TOKENIZER_FILES:
        if (Path(tokenizer_dir) / name).is_file():
            shutil.copy2(Path(tokenizer_dir) / name, tmp / name)
    torch.save({"optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state()}, tmp / STATE_FILE)
    (tmp / RUN_STATE_FILE).write_text(json.dumps({**run_state, "step": step}, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    if keep:
        for old in list_checkpoints(run_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_training_state(checkpoint: Path, model, optimizer) -> dict:
    """Load weights and optimizer state into the live objects; returns the run state."""
    from safetensors.torch import load_file

    weights = load_file(str(Path(checkpoint) / "model.safetensors"))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    tied = {"lm_head.weight"} if getattr(model.config, "tie_word_embeddings", False) else set()
    if set(missing) - tied or unexpected:
        raise TrainingError(
            f"{checkpoint}: weights do not match the model (missing {missing}, unexpected {unexpected})"
        )
    if getattr(model.config, "tie_word_embeddings", False):
        model.tie_weights()
    state = torch.load(Path(checkpoint) / STATE_FILE, weights_only=False)
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    return json.loads((Path(checkpoint) / RUN_STATE_FILE).read_text(encoding="utf-8"))
