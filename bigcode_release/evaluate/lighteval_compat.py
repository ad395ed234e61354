"""Workarounds for lighteval 0.13.0's offline and version traps, kept in one place.

1. `Registry.load_all_task_configs` imports every built-in task module; one downloads a file at
   import and another calls an API huggingface_hub 1.x removed. We serve the registry our tasks only.
2. lighteval never sets `do_sample`, so n > 1 samples under transformers 5 fail as "greedy with
   num_return_sequences > 1". We set it on the loaded model's generation config (in memory only).
3. xxhash 4 breaks lighteval's detail hashing: pinned below 4 in pyproject, checked here.
4. `TransformersModel.from_model` turns autograd off for the whole process
   (`torch.set_grad_enabled(False)`); we put it back when the evaluation ends, so training in the
   same process (an ablation, a test session) still gets gradients.
"""

from __future__ import annotations

import contextlib
import logging
import types
from collections.abc import Iterator
from importlib.metadata import version

from bigcode_release.errors import EvaluationError

LIGHTEVAL_VERSION = "0.13.0"


def check_versions() -> None:
    """Refuse, with the fix, a lighteval or xxhash these workarounds were not made for."""
    try:
        found = version("lighteval")
    except Exception:  # noqa: BLE001 - any missing metadata means not installed
        raise EvaluationError(
            f"lighteval is not installed; fix: pip install 'bigcode-release[eval]' (lighteval=={LIGHTEVAL_VERSION})"
        ) from None
    if found != LIGHTEVAL_VERSION:
        raise EvaluationError(
            f"lighteval {found} is installed; this evaluation was made for "
            f"{LIGHTEVAL_VERSION}: pip install lighteval=={LIGHTEVAL_VERSION}"
        )
    if int(version("xxhash").split(".")[0]) >= 4:
        raise EvaluationError(
            f"xxhash {version('xxhash')} breaks lighteval {LIGHTEVAL_VERSION}'s detail "
            "logging; fix: pip install 'xxhash<4'"
        )


@contextlib.contextmanager
def registry_of(configs: list) -> Iterator[types.ModuleType]:
    """While active, lighteval's registry knows exactly `configs` (a module with `TASKS_TABLE`)."""
    from lighteval.tasks.registry import Registry

    module = types.ModuleType("bigcode_release_code_tasks")
    module.TASKS_TABLE = configs
    original = Registry.__dict__["load_all_task_configs"]

    def load_only_ours(custom_tasks=None, load_multilingual=False):
        return Registry._extract_configs(module)

    Registry.load_all_task_configs = staticmethod(load_only_ours)
    try:
        yield module
    finally:
        Registry.load_all_task_configs = original


@contextlib.contextmanager
def grad_mode_kept() -> Iterator[None]:
    """Restore autograd's global switch after lighteval's model set-up turned it off."""
    import torch

    enabled = torch.is_grad_enabled()
    try:
        yield
    finally:
        torch.set_grad_enabled(enabled)


def set_sampling(model, n: int, temperature: float) -> None:
    """Sample when asked for several completions (lighteval sets greedy itself for n = 1 at T = 0)."""
    model.generation_config.do_sample = n > 1 or temperature > 0


def quiet(enabled: bool) -> None:
    """Without progress display: no bars from datasets or transformers, only lighteval's errors."""
    if not enabled:
        return
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()  # e.g. "temperature ignored" under greedy decoding
    logging.getLogger("lighteval").setLevel(logging.ERROR)
