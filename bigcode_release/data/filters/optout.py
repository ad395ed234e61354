"""Honour opt-out requests: drop every file of an opted-out account or repository, and vendored
copies whose origin is one; record the dropped files' fingerprints to find their copies elsewhere."""

from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.filters.base_filter import BaseFilter

from bigcode_release.data.dedup.optout_copies import OPTED_OUT_COPY, QueryRecorder
from bigcode_release.data.document import ORIGIN_KEY, ORIGIN_PATH_KEY
from bigcode_release.data.drop_reasons import OPTED_OUT
from bigcode_release.optout.export_format import OptOutList, read_optout_list
from bigcode_release.recipe import NearDedupConfig


class OptOutFilter(BaseFilter):
    """Drop files of repositories an opt-out list names (`opted_out`), case-insensitively, and
    files vendored from such a repository (`opted_out_copy`: the source traced their origin).

    The request id is kept in the dropped file's metadata (`optout_request_id`), and for a copy
    the original's `repo/path` (`duplicate_of`), so the drop ledger says which request and what.
    With `queries_folder`, each opted-out file's fingerprints are written there (one Parquet per
    task) for the resolver to find copies of it in other repositories.
    """

    name = "🙅 opt-out"

    def __init__(
        self,
        optout_list_path: str | None,
        queries_folder: str | None = None,
        near: NearDedupConfig | None = None,
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer)
        self.optout_list_path = optout_list_path
        self.queries_folder = queries_folder
        self.near = near
        self._list: OptOutList | None = None
        self._queries: QueryRecorder | None = None

    def _optouts(self) -> OptOutList:
        if self._list is None:
            self._list = read_optout_list(self.optout_list_path) if self.optout_list_path else OptOutList([])
        return self._list

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._queries = QueryRecorder(self.near) if self.queries_folder else None
        yield from super().run(data, rank, world_size)
        if self._queries is not None:
            with self.track_time():
                self._queries.write(Path(self.queries_folder) / f"{rank:05d}.parquet")

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        optouts = self._optouts()
        request_id = optouts.match(doc.metadata["repo_name"])
        if request_id is not None:
            doc.metadata["optout_request_id"] = request_id
            # the owner's own code is followed into other repositories; what the owner vendored
            # from another project is that project's, so it is not
            if self._queries is not None and not doc.metadata.get(ORIGIN_KEY):
                self._queries.add(doc.text, request_id, doc.id)
            return False, OPTED_OUT
        origin = doc.metadata.get(ORIGIN_KEY)
        request_id = optouts.match(origin) if origin else None
        if request_id is not None:
            doc.metadata["optout_request_id"] = request_id
            doc.metadata["duplicate_of"] = f"{origin}/{doc.metadata.get(ORIGIN_PATH_KEY)}"
            return False, OPTED_OUT_COPY
        return True
