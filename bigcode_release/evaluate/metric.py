"""The lighteval metrics: pass@k by execution, and the likelihood of a known continuation.

pass@k by execution, as a lighteval sample-level metric: each of a problem's n completions is
cut at the stop sequences, assembled into its check program and run in the sandbox; the problem's
count of passing samples gives pass@k for every requested k (the unbiased estimator)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from lighteval.metrics.metrics_sample import SampleLevelComputation, SamplingMetric
from lighteval.metrics.utils.metric_utils import SampleLevelMetricGrouping
from lighteval.tasks.requests import SamplingMethod

from bigcode_release.evaluate.infilling import exact_match
from bigcode_release.evaluate.likelihood import BITS_PER_BYTE, LOGLIK_PER_TOKEN, LikelihoodLog
from bigcode_release.evaluate.passk import pass_at_k
from bigcode_release.evaluate.problems import check_program, truncate_at_stop
from bigcode_release.evaluate.sandbox import SandboxLimits, run_programs


@dataclass
class ProblemVerdicts:
    """One problem's samples: what was generated and what running it gave."""

    task: str
    task_id: str
    completions: list[str]
    statuses: list[str]
    exact_matches: int | None = None  # infilling: completions that are the removed middle, spaces aside

    @property
    def correct(self) -> int:
        return sum(status == "passed" for status in self.statuses)


@dataclass
class VerdictLog:
    """Per-problem verdicts collected while lighteval computes the metric."""

    problems: list[ProblemVerdicts] = field(default_factory=list)

    def __repr__(self) -> str:  # lighteval prints metrics (and hashes their text) in its task config
        return f"VerdictLog({len(self.problems)} problems)"

    def __deepcopy__(self, memo: dict) -> VerdictLog:
        return self  # lighteval's registry deep-copies task configs; every copy must report here

    def rows(self) -> list[dict]:
        return [{**asdict(p), "n": len(p.statuses), "correct": p.correct} for p in self.problems]


class ExecutionPassAtK(SamplingMetric, SampleLevelComputation):
    """Runs a problem's n completions in the sandbox and returns `{"pass@k": value}` for each k.

    A `SamplingMetric` so that lighteval asks the model for `n` samples per problem.
    """

    def __init__(self, n: int, ks: list[int], limits: SandboxLimits, workers: int, log: VerdictLog):
        super().__init__()
        self.n = n
        self.ks = sorted(ks)
        self.limits = limits
        self.workers = workers
        self.log = log

    def compute(self, doc, model_response, **kwargs) -> dict[str, float]:
        problem = doc.specific
        completions = [truncate_at_stop(text) for text in model_response.final_text]
        programs = [check_program(problem, completion) for completion in completions]
        statuses = [result.status for result in run_programs(programs, self.limits, self.workers)]
        exact = sum(exact_match(c, problem["middle"]) for c in completions) if "middle" in problem else None
        verdicts = ProblemVerdicts(doc.task_name, problem["task_id"], completions, statuses, exact)
        self.log.problems.append(verdicts)
        n = len(statuses)
        return {metric_name(k): pass_at_k(n, verdicts.correct, k) for k in self.ks}

    def num_samples(self) -> int:
        return self.n


def metric_name(k: int) -> str:
    return f"pass@{k}"


def execution_metric(
    n: int, ks: list[int], limits: SandboxLimits, workers: int, log: VerdictLog
) -> SampleLevelMetricGrouping:
    """The lighteval metric (one name per k, n samples a problem), averaged over problems."""
    names = [metric_name(k) for k in sorted(ks)]
    return SampleLevelMetricGrouping(
        metric_name=names,
        higher_is_better=dict.fromkeys(names, True),
        category=SamplingMethod.GENERATIVE,
        sample_level_fn=ExecutionPassAtK(n, ks, limits, workers, log),
        corpus_level_fn=dict.fromkeys(names, np.mean),
    )


class ContinuationLikelihood(SampleLevelComputation):
    """Bits per byte and log-likelihood per token of the gold continuation (`choices[0]`)."""

    def __init__(self, log: LikelihoodLog):
        super().__init__()
        self.log = log

    def compute(self, doc, model_response, **kwargs) -> dict[str, float]:
        loglik = float(model_response.logprobs[0])
        nbytes = len(doc.choices[0].encode("utf-8"))
        tokens = len(model_response.output_tokens[0]) if model_response.output_tokens else 0
        bits = -loglik / math.log(2)
        self.log.rows.append(
            {
                "task": doc.task_name,
                "task_id": doc.specific["task_id"],
                "loglik": loglik,
                "bits": bits,
                "bytes": nbytes,
                "tokens": tokens,
                "language": doc.specific.get("language"),
            }
        )
        return {BITS_PER_BYTE: bits / nbytes, LOGLIK_PER_TOKEN: loglik / max(tokens, 1)}


def likelihood_metric(log: LikelihoodLog) -> SampleLevelMetricGrouping:
    """The lighteval metric; its per-sample means are lighteval's view, `log.scores` the corpus ratios."""
    names = [BITS_PER_BYTE, LOGLIK_PER_TOKEN]
    return SampleLevelMetricGrouping(
        metric_name=names,
        higher_is_better={BITS_PER_BYTE: False, LOGLIK_PER_TOKEN: True},
        category=SamplingMethod.LOGPROBS,
        sample_level_fn=ContinuationLikelihood(log),
        corpus_level_fn=dict.fromkeys(names, np.mean),
    )
