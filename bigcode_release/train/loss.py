"""The language-modelling loss without materialising the logits of a whole batch.

`chunked_lm_loss` computes the summed token cross-entropy of `hidden @ weight.T` chunk by chunk;
its gradients (softmax minus one-hot, times the weight / the hidden states) are formed in the same
pass, so the `[tokens, vocab]` logits, their log-softmax and its gradient never exist at full size.
With a 49k vocabulary and 4k tokens per micro batch that is 800 MB per copy; on this CPU the
log-softmax passes and the zero-filled gradient took ~30% of a training step.
"""

from __future__ import annotations

import torch

IGNORE_INDEX = -100


class _ChunkedLinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    @torch.amp.custom_fwd(device_type="cpu", cast_inputs=torch.float32)
    def forward(ctx, hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, chunk: int) -> torch.Tensor:
        want_grad = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        grad_hidden = torch.empty_like(hidden) if want_grad else None
        grad_weight = torch.zeros_like(weight) if want_grad else None
        total = torch.zeros((), dtype=torch.float32)
        for start in range(0, hidden.shape[0], chunk):
            h, y = hidden[start : start + chunk], labels[start : start + chunk]
            logits = h @ weight.t()
            valid = y != IGNORE_INDEX
            target = y.clamp(min=0).unsqueeze(1)
            lse = torch.logsumexp(logits, dim=1)
            total += ((lse - logits.gather(1, target).squeeze(1)) * valid).sum()
            if not want_grad:
                continue
            probs = logits.sub_(lse.unsqueeze(1)).exp_()  # softmax, in place
            probs.scatter_add_(1, target, torch.full_like(target, -1, dtype=probs.dtype))
            probs.mul_(valid.unsqueeze(1))
            grad_hidden[start : start + chunk] = probs @ weight
            grad_weight.addmm_(probs.t(), h)
        ctx.save_for_backward(grad_hidden, grad_weight)
        ctx.wants = (ctx.needs_input_grad[0], ctx.needs_input_grad[1])
        return total

    @staticmethod
    @torch.amp.custom_bwd(device_type="cpu")
    def backward(ctx, grad_output: torch.Tensor):
        grad_hidden, grad_weight = ctx.saved_tensors
        want_hidden, want_weight = ctx.wants
        return (
            grad_hidden * grad_output if want_hidden else None,
            grad_weight * grad_output if want_weight else None,
            None,
            None,
        )


def chunked_lm_loss(
    hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, chunk: int = 1024
) -> torch.Tensor:
    """Sum over target tokens of cross-entropy(hidden @ weight.T, labels); `IGNORE_INDEX` labels
    count for nothing. `hidden` is `[tokens, hidden_size]`, `labels` `[tokens]`. Computed in float32."""
    return _ChunkedLinearCrossEntropy.apply(hidden.reshape(-1, hidden.shape[-1]), weight, labels.reshape(-1), chunk)


class CausalLMLoss(torch.nn.Module):
    """A transformers causal LM whose forward returns the summed token loss (wrap this in DDP)."""

    def __init__(self, model: torch.nn.Module, chunk: int = 1024):
        super().__init__()
        self.model = model
        self.chunk = chunk

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        hidden = self.model.model(input_ids=input_ids).last_hidden_state
        return chunked_lm_loss(hidden, self.model.lm_head.weight, labels, self.chunk)
