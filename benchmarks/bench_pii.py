"""PII detection on three labelled sets, side by side with detect-secrets run alone on every line:
precision and recall per kind (target, on the frozen set: every kind at recall >= 0.95 and
precision >= 0.9), recall per secret kind, and CPU.

    .venv/bin/python benchmarks/bench_pii.py [--files 400] [--seed 0]

The sets:
- `generator`: `bigcode_release.pii.labelled`, the generator the rules were developed on;
- `dev passwords` (`data/pii_dev.jsonl`): 150 files with passwords in many real-world forms and
  decoys, written independently of the rules and of the frozen sets; the password rules were
  developed on it;
- `frozen configs` (`data/pii_frozen_configs.jsonl`): 228 real-looking configuration files,
  sources, notebooks, logs and docs with decoys, written by someone who never read the rules;
- `real files` (`data/pii_real_files.jsonl`): 120 files of installed packages with items planted
  in them and their real emails labelled.
The two frozen sets are read as they are checked in; no rule was developed on them.

A finding counts as correct when it overlaps a labelled span of the same kind; a finding that
overlaps none (a decoy, or nothing) is a false positive; a labelled span nothing overlaps is missed.
detect-secrets reports secrets only, with no kind: the comparison line scores both detectors on
keys and passwords taken together (`SECRET`).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bigcode_release.pii import scan_text
from bigcode_release.pii.findings import KEY, PASSWORD
from bigcode_release.pii.labelled import labelled_files

DATA = Path(__file__).resolve().parent / "data"
LABELLED = {
    "dev passwords": DATA / "pii_dev.jsonl",
    "frozen configs": DATA / "pii_frozen_configs.jsonl",
    "real files": DATA / "pii_real_files.jsonl",
}
TARGET_SET, TARGET_RECALL, TARGET_PRECISION = "frozen configs", 0.95, 0.9
SECRET = "SECRET"


@dataclass(frozen=True)
class Labelled:
    name: str
    text: str
    labels: list[tuple[int, int, str, str]]  # start, end, kind, secret kind


def load_sets(count: int, seed: int) -> dict[str, list[Labelled]]:
    sets = {"generator": [Labelled(f.name, f.text, f.labels) for f in labelled_files(count, seed)]}
    for name, path in LABELLED.items():
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        sets[name] = [Labelled(r["name"], r["text"], [tuple(label) for label in r["labels"]]) for r in records]
    return sets


@dataclass
class Score:
    true_pos: Counter
    false_pos: Counter
    missed: Counter
    by_secret: Counter
    found_by_secret: Counter

    def of(self, kind: str | None = None) -> dict:
        kinds = [kind] if kind else list(self.true_pos | self.missed | self.false_pos)
        tp, fp, fn = (sum(c[k] for k in kinds) for c in (self.true_pos, self.false_pos, self.missed))
        return {
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
            "found": tp,
            "false+": fp,
            "missed": fn,
        }


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 1.0


def score(files: list[Labelled], findings: list[list[tuple[int, int, str]]], collapse: bool = False) -> Score:
    """Match findings `(start, end, kind)` to labels; `collapse`: keys and passwords are one kind."""

    def kind_of(kind: str) -> str:
        return SECRET if collapse and kind in (KEY, PASSWORD) else kind

    result = Score(Counter(), Counter(), Counter(), Counter(), Counter())
    for labelled, found in zip(files, findings):
        labels = [(s, e, kind_of(k), sk) for s, e, k, sk in labelled.labels]
        if collapse:
            labels = [label for label in labels if label[2] == SECRET]
        for start, end, kind, secret_kind in labels:
            result.by_secret[secret_kind] += 1
            if any(kind_of(k) == kind and s < end and e > start for s, e, k in found):
                result.true_pos[kind] += 1
                result.found_by_secret[secret_kind] += 1
            else:
                result.missed[kind] += 1
        for s, e, k in found:
            if not any(kind_of(k) == kind and s < end and e > start for start, end, kind, _ in labels):
                result.false_pos[kind_of(k)] += 1
    return result


def run_ours(files: list[Labelled]) -> tuple[list[list[tuple[int, int, str]]], float]:
    started = time.process_time()
    findings = [[(f.start, f.end, f.kind) for f in scan_text(labelled.text)] for labelled in files]
    return findings, time.process_time() - started


def run_detect_secrets(files: list[Labelled]) -> tuple[list[list[tuple[int, int, str]]], float]:
    """detect-secrets as its users run it (`detect-secrets scan`: every plugin and filter of its
    default settings, on every line of each file, under the file's own name)."""
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    findings = []
    with tempfile.TemporaryDirectory(prefix="bench-pii-") as tmp, default_settings():
        started = time.process_time()
        for index, labelled in enumerate(files):
            path = Path(tmp) / str(index) / labelled.name.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(labelled.text, encoding="utf-8")
            collection = SecretsCollection()
            collection.scan_file(str(path))
            line_starts = [0]
            for line in labelled.text.splitlines(keepends=True):
                line_starts.append(line_starts[-1] + len(line))
            spans = set()
            for _, secret in collection:
                value, offset = secret.secret_value or "", line_starts[secret.line_number - 1]
                line = labelled.text[offset : line_starts[secret.line_number]]
                position = line.find(value) if value else -1
                if position == -1:  # no value to place: the whole line
                    spans.add((offset, offset + len(line.rstrip("\n")), KEY))
                while position != -1:
                    spans.add((offset + position, offset + position + len(value), KEY))
                    position = line.find(value, position + len(value))
            findings.append(sorted(spans))
        return findings, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=400, help="files from the generator")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    report, target_met = {}, True
    for set_name, files in load_sets(args.files, args.seed).items():
        ours, our_cpu = run_ours(files)
        peer, peer_cpu = run_detect_secrets(files)
        full = score(files, ours)
        mib = sum(len(f.text) for f in files) / 2**20
        print(f"\n== {set_name}: {len(files)} files, {sum(full.by_secret.values())} labelled items, {mib:.2f} MiB")
        print(f"{'kind':12} {'precision':>9} {'recall':>7} {'found':>6} {'false+':>6} {'missed':>6}")
        per_kind = {}
        for kind in sorted(full.true_pos | full.missed | full.false_pos):
            figures = full.of(kind)
            per_kind[kind] = {"precision": figures["precision"], "recall": figures["recall"]}
            print(
                f"{kind:12} {figures['precision']:9.3f} {figures['recall']:7.3f} {figures['found']:6} "
                f"{figures['false+']:6} {figures['missed']:6}"
            )
            if set_name == TARGET_SET:
                target_met &= figures["recall"] >= TARGET_RECALL and figures["precision"] >= TARGET_PRECISION
        print(
            "recall per secret kind: "
            + ", ".join(f"{k} {_ratio(full.found_by_secret[k], n):.2f}" for k, n in sorted(full.by_secret.items()))
        )
        secrets = {}
        for detector, findings, cpu in (("bigcode-release", ours, our_cpu), ("detect-secrets", peer, peer_cpu)):
            figures = score(files, findings, collapse=True).of(SECRET)
            secrets[detector] = {"precision": figures["precision"], "recall": figures["recall"], "cpu_s": round(cpu, 2)}
            print(
                f"keys+passwords, {detector:15} precision {figures['precision']:.3f} recall {figures['recall']:.3f} "
                f"({figures['false+']} false+, {figures['missed']} missed) in {cpu:.2f} CPU-s"
            )
        report[set_name] = {"files": len(files), **full.of(), "per_kind": per_kind, "secrets": secrets}
    print(
        f"\nevery kind on {TARGET_SET!r} at recall >= {TARGET_RECALL} and precision >= {TARGET_PRECISION}: "
        f"{'met' if target_met else 'NOT met'}"
    )
    print(json.dumps({"benchmark": "pii", "target_met": target_met, "sets": report}))


if __name__ == "__main__":
    main()
