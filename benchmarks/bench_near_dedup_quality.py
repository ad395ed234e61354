"""Near-dedup decisions against exact 5-gram Jaccard: precision and recall over pairs (target:
both at least 0.9 for pairs at or above the threshold).

    .venv/bin/python benchmarks/bench_near_dedup_quality.py [--files 3000] [--seed 0]

Sample: files of the embedded corpus (installed distributions), picked so that near duplicates
are common: every file whose name occurs in several repositories, topped up at random. The
sample goes through the real build (exact dedup off, so identical copies are near-dedup's too).
Truth: exact Jaccard of word 5-gram sets, computed plainly (regular expressions and sets, not the
pipeline's hashing) for every pair. Decision: the build removes a file as a near duplicate of a
file it keeps (`duplicate_of`). Precision: share of removals whose file has Jaccard >= threshold
with the copy kept. Recall: share of pairs with Jaccard >= threshold of which the build removed at
least one file (a pair left whole in the data is a miss).
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
    files = [
        (repo, planned)
        for repo in plan.repos
        for planned in repo.files
        if planned.language and 200 < planned.size < 200_000
    ]
    by_name = defaultdict(list)
    for repo, planned in files:
        by_name[PurePosixPath(planned.path).name].append((repo, planned))
    rng = random.Random(seed)
    shared = [item for group in by_name.values() if len({r.repo_name for r, _ in group}) > 1 for item in group]
    rng.shuffle(shared)
    chosen = shared[: count * 2 // 3]
    taken = {(repo.repo_name, planned.path) for repo, planned in chosen}
    rest = [(repo, planned) for repo, planned in files if (repo.repo_name, planned.path) not in taken]
    chosen += rng.sample(rest, min(len(rest), count - len(chosen)))
    rows = []
    for repo, planned in chosen:
        text, error = read_source_file(Path(planned.abspath))
        if not error and text:
            rows.append(
                {
                    "repo_name": repo.repo_name,
                    "path": planned.path,
                    "content": text,
                    "licenses": ["MIT"],
                    "stars": 0,
                    "language": planned.language,
                }
            )
    return rows


def build_and_resolve(rows: list[dict], folder: Path, threshold: float) -> tuple[list[str], list[tuple[str, str]]]:
    """Run the sample through the build; the ids it compared, and its removals (removed, kept)."""
    data = folder / "data"
    data.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), data / "sample.parquet")
    recipe = yaml.safe_load((REPO / "recipes" / "the-stack-local.yaml").read_text(encoding="utf-8"))
    recipe.update(
        {
            "source": {"kind": "stack", "data_folder": str(data), "format": "parquet"},
            "pii": {"enabled": False},
            "decontamination": {"enabled": False},
            "format": {"enabled": False},
        }
    )
    recipe["dedup"] = {"exact": {"enabled": False}, "near": {"enabled": True, "jaccard_threshold": threshold}}
    recipe["executor"] = {"kind": "local", "tasks": 2, "workers": 2}
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bigcode_release.cli",
            "dataset",
            "build",
            str(path),
            "--out",
            str(folder / "release"),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])
    work = Path(json.loads(result.stdout)["version_dir"]) / "work" / "dedup"
    compared = pq.read_table(work / "keys").column("id").to_pylist()
    removals = []
    for keys_file in sorted((work / "keys").glob("*.parquet")):
        ids = dict(zip(*pq.read_table(keys_file, columns=["doc", "id"]).to_pydict().values()))
        removals += [
            (ids[row["doc"]], row["duplicate_of"])
            for row in pq.read_table(work / "remove" / keys_file.name).to_pylist()
        ]
    return compared, removals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=0.7)
    args = parser.parse_args()
    rows = sample_files(args.files, args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-near-") as tmp:
        compared, removals = build_and_resolve(rows, Path(tmp), args.threshold)
    texts = {f"{r['repo_name']}/{r['path']}": r["content"] for r in rows}
    ids = [i for i in compared if i in texts]
    position = {doc_id: n for n, doc_id in enumerate(ids)}
    vocabulary: dict[tuple, int] = {}
    indptr, indices = [0], []
    for doc_id in ids:
        grams = reference_shingles(texts[doc_id], 5)
        indices += [vocabulary.setdefault(g, len(vocabulary)) for g in grams]
        indptr.append(len(indices))
    matrix = sparse.csr_matrix(
        (np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(len(ids), len(vocabulary))
    )
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    inter = (matrix @ matrix.T).tocoo()
    upper = inter.row < inter.col
    a, b, common = inter.row[upper], inter.col[upper], inter.data[upper]
    jaccard = common / (sizes[a] + sizes[b] - common)
    true_pairs = {(int(x), int(y)) for x, y, j in zip(a, b, jaccard) if j >= args.threshold}
    similarity = {(int(x), int(y)): float(j) for x, y, j in zip(a, b, jaccard)}
    removed = {position[r] for r, _ in removals}
    judged = [similarity.get(tuple(sorted((position[r], position[k]))), 0.0) for r, k in removals]
    right = sum(j >= args.threshold for j in judged)
    precision = right / len(judged) if judged else 1.0
    resolved = [p for p in true_pairs if p[0] in removed or p[1] in removed]
    recall = len(resolved) / len(true_pairs) if true_pairs else 1.0
    missed = sorted(similarity[p] for p in true_pairs if p[0] not in removed and p[1] not in removed)
    wrong = sorted(j for j in judged if j < args.threshold)
    print(
        f"{len(ids):,} files compared ({sum(len(t) for t in texts.values()) / 2**20:.1f} MiB); "
        f"pairs with 5-gram Jaccard >= {args.threshold}: {len(true_pairs):,}; near-duplicate removals: {len(judged):,}"
    )
    print(
        f"precision {precision:.3f} ({right}/{len(judged)} removals at or above the threshold), "
        f"recall {recall:.3f} ({len(resolved)}/{len(true_pairs)} pairs resolved) (targets 0.9): "
        f"{'met' if precision >= 0.9 and recall >= 0.9 else 'NOT met'}"
    )
    if missed:
        print(f"pairs left whole: {len(missed)}, Jaccard median {np.median(missed):.3f}, min {missed[0]:.3f}")
    if wrong:
        print(f"removals below the threshold: {len(wrong)}, Jaccard median {np.median(wrong):.3f}, min {wrong[0]:.3f}")
    print(
        json.dumps(
            {
                "benchmark": "near_dedup_quality",
                "files": len(ids),
                "true_pairs": len(true_pairs),
                "removals": len(judged),
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "threshold": args.threshold,
            }
        )
    )


if __name__ == "__main__":
    main()
