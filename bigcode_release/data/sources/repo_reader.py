"""The datatrove reader for planned repositories (installed distributions, folders)."""

from __future__ import annotations

from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from bigcode_release.data.document import DECODE_ERROR_KEY, ORIGIN_KEY, ORIGIN_PATH_KEY, make_document
from bigcode_release.data.progress import ProgressFile
from bigcode_release.data.sources.files import read_source_file
from bigcode_release.data.sources.plan import ReadPlan, RepoFile, RepoSpec, assign_ranks
from bigcode_release.license.spdx import normalise
from bigcode_release.license.subtrees import header_license


class RepoFilesReader(PipelineStep):
    """Yield one document per planned file of this task's repositories.

    Files of a language the recipe does not select, and files larger than `max_file_bytes`, are
    yielded without content (the filters after this step drop them with their reason), so that
    every file is accounted for and nothing big or binary is read for nothing.

    Args:
        plan_path: the `plan.json` written when the build was planned
        selected_languages: languages whose files are read (None: every known language)
        max_file_bytes: files above this size are not read
        progress_dir: where to report progress counters (optional)
    """

    name = "📂 repository files"
    type = "📖 - READER"

    def __init__(
        self,
        plan_path: str,
        selected_languages: set[str] | None,
        max_file_bytes: int,
        progress_dir: str | None = None,
    ):
        super().__init__()
        self.plan_path = plan_path
        self.selected_languages = selected_languages
        self.max_file_bytes = max_file_bytes
        self.progress_dir = progress_dir

    def _wanted(self, language: str | None, size: int) -> bool:
        if language is None or size > self.max_file_bytes:
            return False
        return self.selected_languages is None or language in self.selected_languages

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        plan = ReadPlan.load(Path(self.plan_path))
        ranks = assign_ranks([sum(f.size for f in r.files) for r in plan.repos], world_size)
        progress = ProgressFile(self.progress_dir, rank)
        for repo, repo_rank in zip(plan.repos, ranks):
            if repo_rank != rank:
                continue
            self.stat_update("repositories")
            for planned in repo.files:
                text, error = "", None
                if self._wanted(planned.language, planned.size):
                    with self.track_time():
                        text, error = read_source_file(Path(planned.abspath))
                    self.stat_update("files_read")
                progress.update(files=1, nbytes=planned.size)
                expression, licenses, license_source = _file_license(repo, planned, text)
                document = make_document(
                    text,
                    path=planned.path,
                    repo_name=repo.repo_name,
                    owner=repo.owner,
                    licenses=licenses,
                    license_expression=expression,
                    license_source=license_source,
                    language=planned.language,
                    ext=Path(planned.path).suffix.lower(),
                    size=planned.size,
                    stars=repo.stars,
                    forks=repo.forks,
                )
                if error:
                    document.metadata[DECODE_ERROR_KEY] = error
                if planned.origin:
                    document.metadata[ORIGIN_KEY] = planned.origin
                    document.metadata[ORIGIN_PATH_KEY] = planned.origin_path
                self.stat_update("documents")
                yield document
        progress.close()


def _file_license(repo: RepoSpec, planned: RepoFile, text: str) -> tuple[str | None, list[str], str]:
    """(expression, licenses, source) of one file: the license of the part of the repository it sits
    in when that part declares one (the plan's), else its own header notice, else the repository's."""
    if planned.license_expression:
        return planned.license_expression, list(normalise(planned.license_expression).licenses), planned.license_source
    own = header_license(text) if text else None
    if own is not None and own.expression != repo.license_expression:
        return own.expression, list(own.licenses), own.source
    return repo.license_expression, list(repo.licenses), repo.license_source
