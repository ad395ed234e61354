"""Likelihood tasks: how well a checkpoint predicts known-good code, a score that moves from the
first training steps on (unlike pass@k of a small model, which stays at zero).

`humaneval-bpb` scores HumanEval's canonical solutions given their prompts; `heldout-bpb=<tokenized
folder>` scores a sample of the release's own validation split, `HELDOUT_PER_LANGUAGE` files per
language, each its first lines as context and the next ones as continuation. The validation split
is chosen by a seeded hash of each document's id (`tokenizer.steps.in_validation`), so these files
are in no training shard tokenized with the same fraction and seed; the sample is the files with
the lowest `xxh64("heldout:<id>")` per language, so it is the same documents in every dataset
version that still holds them (a file removed by an opt-out is replaced by the next one). lighteval asks the
model for the log-likelihood of each continuation (a `LOGPROBS` request); the metric turns it into
bits per byte of the continuation's UTF-8 and log-likelihood per token, and the task's score is
the corpus ratio (total bits over total bytes, total log-likelihood over total tokens), so long
solutions weigh by their length as in perplexity. The lighteval metric is in `metric.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bigcode_release.errors import BenchmarkFileError
from bigcode_release.manifest import read_manifest

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
        """The task's corpus bits per byte and log-likelihood per token (and per language, when the
        continuations carry one)."""
        rows = [r for r in self.rows if r["task"].split("|")[0] == task]
        scores = {"problems": len(rows), **_ratios(rows)}
        languages = sorted({r["language"] for r in rows if r.get("language")})
        if languages:
            scores["per_language"] = {
                language: _ratios([r for r in rows if r.get("language") == language]) for language in languages
            }
        return scores


def _ratios(rows: list[dict]) -> dict:
    bits, nbytes = sum(r["bits"] for r in rows), sum(r["bytes"] for r in rows)
    loglik, tokens = sum(r["loglik"] for r in rows), sum(r["tokens"] for r in rows)
    return {
        BITS_PER_BYTE: round(bits / nbytes, 5) if nbytes else None,
        LOGLIK_PER_TOKEN: round(loglik / tokens, 5) if tokens else None,
    }


HELDOUT_PER_LANGUAGE = 4
CONTEXT_CHARS, CONTINUATION_CHARS = 200, 400


def _cut_at_line(text: str, limit: int) -> int:
    """The position of the last line end within `limit` characters (or `limit` if none)."""
    end = text.rfind("\n", 0, limit)
    return end + 1 if end >= 0 else min(limit, len(text))


@lru_cache(maxsize=4)
def heldout_problems(tokenized: Path, per_language: int = HELDOUT_PER_LANGUAGE) -> dict[str, dict]:
    """`task_id -> problem` for the held-out sample of a tokenized dataset version's validation split
    (read once per process: a series scores every checkpoint on it). Callers must not modify it."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    import xxhash

    from bigcode_release.layout import ReleaseLayout
    from bigcode_release.tokenizer.steps import in_validation

    manifest = read_manifest(tokenized)
    if not manifest or manifest.get("kind") != "tokenized":
        raise BenchmarkFileError(f"heldout-bpb={tokenized}: not a folder written by `bigcode-release tokenize`")
    fraction, seed = manifest["parameters"]["validation_fraction"], manifest["parameters"]["seed"]
    version = manifest["inputs"]["dataset_version"]
    data = ReleaseLayout.at(Path(tokenized).parent.parent).version_dir(version) / "data"
    if not any(data.glob("*.parquet")):
        raise BenchmarkFileError(f"heldout-bpb={tokenized}: dataset version {version} has no shards in {data}")
    index = pq.read_table(data, columns=["id", "language"]).to_pylist()
    ranked: dict[str, list[tuple[int, str]]] = {}
    for row in index:
        if row["language"] and in_validation(row["id"], fraction, seed):
            ranked.setdefault(row["language"], []).append((xxhash.xxh64_intdigest(f"heldout:{row['id']}"), row["id"]))
    chosen = {doc_id for rows in ranked.values() for _, doc_id in sorted(rows)[:per_language]}
    table = pq.read_table(data, columns=["id", "language", "content"], filters=pc.field("id").isin(sorted(chosen)))
    problems = {}
    for row in sorted(table.to_pylist(), key=lambda r: (r["language"], r["id"])):
        content = row["content"]
        head = _cut_at_line(content, CONTEXT_CHARS)
        body = content[head : head + _cut_at_line(content[head:], CONTINUATION_CHARS)]
        if not body.strip():
            continue
        problems[row["id"]] = {
            "task_id": row["id"],
            "prompt": content[:head],
            "canonical_solution": body,
            "entry_point": "",
            "test": "",
            "language": row["language"],
        }
    return problems


def continuation_prompt(line: dict, task_name: str = ""):
    """A problem's prompt as context and its canonical solution as the one continuation scored."""
    from lighteval.tasks.requests import Doc

    # lighteval moves a context's trailing whitespace into the continuation it scores: do it here, so
    # the bytes counted are the bytes scored
    context = line["prompt"].rstrip()
    return Doc(
        query=context,
        choices=[line["prompt"][len(context) :] + line["canonical_solution"]],
        gold_index=0,
        task_name=task_name,
        specific={"task_id": line["task_id"], "language": line.get("language")},
    )
