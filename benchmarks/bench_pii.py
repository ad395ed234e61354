"""PII detection on a labelled set: precision and recall per kind (targets: recall >= 0.95 and
precision >= 0.9 overall), recall per secret kind, and throughput.

    .venv/bin/python benchmarks/bench_pii.py [--files 400] [--seed 0]

A finding counts as correct when it overlaps a labelled span of the same kind; a finding that
overlaps none (a decoy, or nothing) is a false positive; a labelled span nothing overlaps is missed.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from bigcode_release.pii import scan_text
from bigcode_release.pii.labelled import labelled_files


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = labelled_files(args.files, args.seed)
    true_pos, false_pos, missed, by_secret, found_by_secret = Counter(), Counter(), Counter(), Counter(), Counter()
    started = time.process_time()
    findings = [scan_text(f.text) for f in files]
    cpu = time.process_time() - started
    for labelled, found in zip(files, findings):
        for start, end, kind, secret_kind in labelled.labels:
            by_secret[secret_kind] += 1
            if any(f.kind == kind and f.start < end and f.end > start for f in found):
                true_pos[kind] += 1
                found_by_secret[secret_kind] += 1
            else:
                missed[kind] += 1
        for f in found:
            if not any(f.kind == kind and f.start < end and f.end > start for start, end, kind, _ in labelled.labels):
                false_pos[f.kind] += 1
    print(
        f"{len(files)} files, {sum(by_secret.values())} labelled items of {len(by_secret)} kinds, "
        f"{sum(len(f.text) for f in files) / 2**20:.2f} MiB scanned in {cpu:.2f} CPU-s"
    )
    print(f"{'kind':12} {'precision':>9} {'recall':>7} {'found':>6} {'false+':>6} {'missed':>6}")
    per_kind = {}
    for kind in sorted(true_pos | missed | false_pos):
        precision = _ratio(true_pos[kind], true_pos[kind] + false_pos[kind])
        recall = _ratio(true_pos[kind], true_pos[kind] + missed[kind])
        per_kind[kind] = {"precision": precision, "recall": recall}
        print(f"{kind:12} {precision:9.3f} {recall:7.3f} {true_pos[kind]:6} {false_pos[kind]:6} {missed[kind]:6}")
    print(
        "recall per planted kind: "
        + ", ".join(f"{k} {_ratio(found_by_secret[k], n):.2f}" for k, n in sorted(by_secret.items()))
    )
    tp, fp, fn = sum(true_pos.values()), sum(false_pos.values()), sum(missed.values())
    overall = {"precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn)}
    print(
        f"overall precision {overall['precision']:.3f} recall {overall['recall']:.3f} "
        f"(targets 0.9 and 0.95): {'met' if overall['precision'] >= 0.9 and overall['recall'] >= 0.95 else 'NOT met'}"
    )
    print(
        json.dumps(
            {
                "benchmark": "pii",
                "files": len(files),
                "labelled": tp + fn,
                "kinds": len(by_secret),
                **overall,
                "per_kind": per_kind,
                "cpu_seconds": round(cpu, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
