"""Likelihood tasks: how well a checkpoint predicts known-good code, a score that moves from the
first training steps on (unlike pass@k of a small model, which stays at zero).

`humaneval-bpb` scores HumanEval's canonical solutions given their prompts. lighteval asks the
model for the log-likelihood of each continuation (a `LOGPROBS` request); the metric turns it into
bits per byte of the continuation's UTF-8 and log-likelihood per token, and the task's score is
the corpus ratio (total bits over total bytes, total log-likelihood over total tokens), so long
solutions weigh by their length as in perplexity. The lighteval metric is in `metric.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BITS_PER_BYTE, LOGLIK_PER_TOKEN = "bits_per_byte", "loglik_per_token"


@dataclass
class LikelihoodLog:
    """Per-continuation log-likelihoods collected while lighteval computes the metric."""

    rows: list[dict] = field(default_factory=list)

    def __repr__(self) -> str:  # lighteval prints metrics (and hashes their text) in its task config
        return f"LikelihoodLog({len(self.rows)} rows)"

    def __deepcopy__(self, memo: dict) -> LikelihoodLog:
        return self  # lighteval's registry deep-copies task configs; every copy must report here

    def scores(self, task: str) -> dict:
        """The task's corpus bits per byte and log-likelihood per token."""
        rows = [r for r in self.rows if r["task"].split("|")[0] == task]
        bits, nbytes = sum(r["bits"] for r in rows), sum(r["bytes"] for r in rows)
        loglik, tokens = sum(r["loglik"] for r in rows), sum(r["tokens"] for r in rows)
        return {
            "problems": len(rows),
            BITS_PER_BYTE: round(bits / nbytes, 5) if nbytes else None,
            LOGLIK_PER_TOKEN: round(loglik / tokens, 5) if tokens else None,
        }


def continuation_prompt(line: dict, task_name: str = ""):
    """A problem's prompt as context and its canonical solution as the one continuation scored."""
    from lighteval.tasks.requests import Doc

    return Doc(
        query=line["prompt"],
        choices=[line["canonical_solution"]],
        gold_index=0,
        task_name=task_name,
        specific={"task_id": line["task_id"]},
    )
