"""Training text, as StarCoder formatted files: a `text` column next to the raw `content`.

File level (default): each of `<reponame>name`, `<filename>path`, `<gh_stars>bucket` is put in
front with its own probability (StarCoder: 0.2 each), then a newline and the content. Random
draws are seeded by the recipe's seed and the file's id, so they do not depend on task order.

Repository level (`repo_level: true`): files of a repository stay together, in order, in one
shard; each file's `text` is its piece of the repository sequence
`<reponame>name<file_sep>path\\ncontent<file_sep>path\\ncontent...`, the `<reponame>` header on the
first file only, so joining a repository's `text` values in shard order gives the sequence.
"""

from __future__ import annotations

import random

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from bigcode_release.recipe import FormatConfig

REPONAME, FILENAME, GH_STARS, FILE_SEP = "<reponame>", "<filename>", "<gh_stars>", "<file_sep>"


def stars_bucket(stars: int | None) -> str:
    """StarCoder's star buckets: 0, 1-10, 10-100, 100-1000, 1000+."""
    stars = stars or 0
    if stars == 0:
        return "0"
    for upper, label in ((10, "1-10"), (100, "10-100"), (1000, "100-1000")):
        if stars < upper:
            return label
    return "1000+"


def file_text(
    content: str, repo_name: str, path: str, stars: int | None, draw: random.Random, config: FormatConfig
) -> str:
    """One file with its metadata prefixes, each drawn with its probability."""
    prefix = ""
    if draw.random() < config.metadata.reponame:
        prefix += f"{REPONAME}{repo_name}"
    if draw.random() < config.metadata.filename:
        prefix += f"{FILENAME}{path}"
    if draw.random() < config.metadata.gh_stars:
        prefix += f"{GH_STARS}{stars_bucket(stars)}"
    return f"{prefix}\n{content}" if prefix else content


class TrainingFormatter(PipelineStep):
    """Set `text` on every document (see the module docstring for the two layouts)."""

    name = "📝 training format"
    type = "✂️ - FORMAT"

    def __init__(self, config: FormatConfig):
        super().__init__()
        self.config = config

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        previous_repo = None
        for doc in data:
            with self.track_time():
                meta = doc.metadata
                if self.config.repo_level:
                    header = f"{REPONAME}{meta['repo_name']}" if meta["repo_name"] != previous_repo else ""
                    meta["text"] = f"{header}{FILE_SEP}{meta['path']}\n{doc.text}"
                    previous_repo = meta["repo_name"]
                else:
                    draw = random.Random(f"{self.config.seed}:{doc.id}")
                    meta["text"] = file_text(
                        doc.text, meta["repo_name"], meta["path"], meta.get("stars"), draw, self.config
                    )
                self.stat_update("formatted")
            yield doc
