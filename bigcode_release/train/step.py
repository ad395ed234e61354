"""One optimizer step, shared by pretraining (`train/torch_engine.py`, data parallel over several
processes) and LoRA fine-tuning (`finetune/lora.py`, one process).

The loss of a step is the sum of the token losses of all its micro batches divided by the number
of target tokens of the whole (global) batch, so accumulation and data parallelism give the
gradients one process with one large batch would. Gradients are clipped to `clip` (global norm),
the learning rate is set on every parameter group, the optimizer steps and the gradients are
cleared.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class StepResult:
    loss: float  # mean loss per target token over the global batch
    grad_norm: float  # before clipping
    targets: float  # target tokens of the global batch


def optimizer_step(
    optimizer: torch.optim.Optimizer,
    parameters: Iterable[torch.nn.Parameter],
    micro_batches: list[tuple[torch.Tensor, torch.Tensor]],
    token_loss_sum: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    count_targets: Callable[[torch.Tensor], torch.Tensor],
    learning_rate: float,
    clip: float,
    all_reduce_sum: Callable[[float], float] = lambda value: value,
    world_size: int = 1,
    no_sync: Callable[[], contextlib.AbstractContextManager] | None = None,
) -> StepResult:
    """Accumulate the micro batches `(inputs, labels)` and take one step.

    `token_loss_sum(inputs, labels)` is the summed loss of a micro batch's target tokens,
    `count_targets(labels)` their number; with data parallelism, `all_reduce_sum` sums a number
    over the processes and `no_sync` (DDP's) skips the gradient all-reduce until the last micro batch.
    """
    for group in optimizer.param_groups:
        group["lr"] = learning_rate
    targets = all_reduce_sum(float(sum(count_targets(labels) for _, labels in micro_batches)))
    loss_sum = 0.0
    for index, (inputs, labels) in enumerate(micro_batches):
        last = index == len(micro_batches) - 1
        with contextlib.nullcontext() if last or no_sync is None else no_sync():
            loss = token_loss_sum(inputs, labels)
            (loss * world_size / targets).backward()
        loss_sum += float(loss.detach())
    grad_norm = float(torch.nn.utils.clip_grad_norm_(list(parameters), clip))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return StepResult(all_reduce_sum(loss_sum) / targets, grad_norm, targets)
