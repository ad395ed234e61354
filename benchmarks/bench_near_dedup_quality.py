"""Near-dedup decisions against exact 5-gram Jaccard: precision and recall over pairs (target:
both at least 0.9 for pairs at or above the threshold).

    .venv/bin/python benchmarks/bench_near_dedup_quality.py [--files 3000] [--seed 0]

Sample: files of the embedded corpus (installed distributions), picked so that near duplicates
are common: every file whose name occurs in several repositories, topped up at random. The
sample goes through the real build (exact dedup off, so identical copies are near-dedup's too).
Truth: exact Jaccard of word 5-gram sets, computed plainly (regular expressions and sets, not the
pipeline's hashing) for every pair. Decision: two files are duplicates when the build put them in
one cluster. Precision: share of same-cluster pairs with Jaccard >= threshold. Recall: share of
pairs with Jaccard >= threshold that share a cluster.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path, PurePosixPath

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from scipy import sparse

from bigcode_release.data.dedup.shingles import reference_shingles
from bigcode_release.data.languages import LanguageTable
from bigcode_release.data.sources.files import read_source_file
from bigcode_release.data.sources.installed import plan_installed
from bigcode_release.recipe import InstalledSource

REPO = Path(__file__).resolve().parents[1]


def sample_files(count: int, seed: int) -> list[dict]:
    plan = plan_installed(InstalledSource(kind="installed", exclude=["bigcode-release"]), LanguageTable.load(), None)
    files = [(repo, planned) for repo in plan.repos for planned in repo.files
             if planned.language and 200 < planned.size < 200_000]
    by_name = defaultdict(list)
    for repo, planned in files:
        by_name[PurePosixPath(planned.path).name].append((repo, planned))
    rng = random.Random(seed)
    shared = [item for group in by_name.values() if len({r.repo_name for r, _ in group}) > 1 for item in group]
    rng.shuffle(shared)
    chosen = shared[: count * 2 // 3]
    rest = [item for item in files if item not in set(chosen)]
    chosen += rng.sample(rest, min(len(rest), count - len(chosen)))
    rows = []
    for repo, planned in chosen:
        text, error = read_source_file(Path(planned.abspath))
        if not error and text:
            rows.append({"repo_name": repo.repo_name, "path": planned.path, "content": text,
                         "licenses": ["MIT"], "stars": 0, "language": planned.language})
    return rows


def build_and_resolve(rows: list[dict], folder: Path, threshold: float) -> tuple[list[str], dict[int, set[str]]]:
    """Run the sample through the build; the ids it compared, and its near-duplicate clusters."""
    data = folder / "data"
    data.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), data / "sample.parquet")
    recipe = yaml.safe_load((REPO / "recipes" / "the-stack-local.yaml").read_text(encoding="utf-8"))
    recipe.update({"source": {"kind": "stack", "data_folder": str(data), "format": "parquet"},
                   "pii": {"enabled": False}, "decontamination": {"enabled": False}, "format": {"enabled": False}})
    recipe["dedup"] = {"exact": {"enabled": False}, "near": {"enabled": True, "jaccard_threshold": threshold}}
    recipe["executor"] = {"kind": "local", "tasks": 2, "workers": 2}
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bigcode_release.cli", "dataset", "build", str(path), "--out",
                             str(folder / "release"), "--json"], capture_output=True, text=True, cwd=REPO)
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])
    work = Path(json.loads(result.stdout)["version_dir"]) / "work" / "dedup"
    compared = pq.read_table(work / "keys").column("id").to_pylist()
    clusters: dict[int, set[str]] = defaultdict(set)
    for keys_file in sorted((work / "keys").glob("*.parquet")):
        ids = dict(zip(*pq.read_table(keys_file, columns=["doc", "id"]).to_pydict().values()))
        for row in pq.read_table(work / "remove" / keys_file.name).to_pylist():
            clusters[row["cluster"]].update((row["duplicate_of"], ids[row["doc"]]))
    return compared, clusters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=0.7)
    args = parser.parse_args()
    rows = sample_files(args.files, args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-near-") as tmp:
        compared, clusters = build_and_resolve(rows, Path(tmp), args.threshold)
    texts = {f"{r['repo_name']}/{r['path']}": r["content"] for r in rows}
    ids = [i for i in compared if i in texts]
    position = {doc_id: n for n, doc_id in enumerate(ids)}
    vocabulary: dict[tuple, int] = {}
    indptr, indices = [0], []
    for doc_id in ids:
        grams = reference_shingles(texts[doc_id], 5)
        indices += [vocabulary.setdefault(g, len(vocabulary)) for g in grams]
        indptr.append(len(indices))
    matrix = sparse.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr),
                               shape=(len(ids), len(vocabulary)))
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    inter = (matrix @ matrix.T).tocoo()
    upper = inter.row < inter.col
    a, b, common = inter.row[upper], inter.col[upper], inter.data[upper]
    jaccard = common / (sizes[a] + sizes[b] - common)
    true_pairs = {(int(x), int(y)) for x, y, j in zip(a, b, jaccard) if j >= args.threshold}
    similarity = {(int(x), int(y)): float(j) for x, y, j in zip(a, b, jaccard)}
    predicted = set()
    for members in clusters.values():
        known = sorted(position[m] for m in members if m in position)
        predicted.update((known[i], known[j]) for i in range(len(known)) for j in range(i + 1, len(known)))
    hits = len(true_pairs & predicted)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(true_pairs) if true_pairs else 1.0
    missed = sorted(similarity.get(p, 0.0) for p in true_pairs - predicted)
    wrong = sorted(similarity.get(p, 0.0) for p in predicted - true_pairs)
    print(f"{len(ids):,} files compared ({sum(len(t) for t in texts.values()) / 2**20:.1f} MiB), "
          f"{len(clusters):,} clusters; pairs with 5-gram Jaccard >= {args.threshold}: {len(true_pairs):,}; "
          f"pairs the build put together: {len(predicted):,}")
    print(f"precision {precision:.3f}, recall {recall:.3f} (targets 0.9): "
          f"{'met' if precision >= 0.9 and recall >= 0.9 else 'NOT met'}")
    if missed:
        print(f"missed pairs: Jaccard median {np.median(missed):.3f}, min {missed[0]:.3f}")
    if wrong:
        print(f"pairs joined below the threshold: Jaccard median {np.median(wrong):.3f}, min {wrong[0]:.3f}")
    print(json.dumps({"benchmark": "near_dedup_quality", "files": len(ids), "true_pairs": len(true_pairs),
                      "predicted_pairs": len(predicted), "precision": round(precision, 4),
                      "recall": round(recall, 4), "threshold": args.threshold}))


if __name__ == "__main__":
    main()
