"""bench_build.py's baseline: datatrove's four MinHash stages on a read plan, in their own process.

    _datatrove_minhash.py PLAN WORK RECIPE {default|recipe}

`default` uses datatrove's MinhashConfig (5-grams, 14 buckets x 8 hashes), `recipe` the recipe's
near-dedup parameters. Files are read once, with the recipe's size limit: the signature stage
writes the build's own uncompressed Parquet hand-off, the filter stage reads it back with the
build's hand-off reader, and the kept files are written as the build's zstd Parquet shards. Tasks and workers are the recipe's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)

from bigcode_release.data.dedup.shingles import CodeWordTokenizer
from bigcode_release.data.sources.handoff import HandoffReader
from bigcode_release.data.sources.repo_reader import RepoFilesReader
from bigcode_release.data.writers import DatasetParquetWriter
from bigcode_release.recipe import load_recipe


def main(plan: str, work: str, recipe_path: str, minhash: str) -> None:
    recipe = load_recipe(Path(recipe_path))
    near = recipe.dedup.near
    config = (
        MinhashConfig()
        if minhash == "default"
        else MinhashConfig(n_grams=near.n_grams, num_buckets=near.bands, hashes_per_bucket=near.rows_per_band)
    )
    tasks, workers = recipe.executor.tasks, recipe.executor.workers
    work_dir = Path(work)
    handoff = str(work_dir / "handoff")
    stages = [
        (
            [
                RepoFilesReader(plan, None, recipe.quality.max_file_bytes),
                DatasetParquetWriter(handoff, compression=None, output_filename="${rank}.parquet"),
                MinhashDedupSignature(str(work_dir / "sigs"), config=config, language=CodeWordTokenizer()),
            ],
            tasks,
        ),
        ([MinhashDedupBuckets(str(work_dir / "sigs"), str(work_dir / "buckets"), config=config)], config.num_buckets),
        ([MinhashDedupCluster(str(work_dir / "buckets"), str(work_dir / "remove"), config=config)], 1),
        (
            [
                HandoffReader(handoff),
                MinhashDedupFilter(str(work_dir / "remove")),
                DatasetParquetWriter(str(work_dir / "out"), compression="zstd"),
            ],
            tasks,
        ),
    ]
    for index, (pipeline, stage_tasks) in enumerate(stages):
        LocalPipelineExecutor(
            pipeline, tasks=stage_tasks, workers=min(workers, stage_tasks), logging_dir=str(work_dir / f"logs{index}")
        ).run()


if __name__ == "__main__":
    main(*sys.argv[1:5])
