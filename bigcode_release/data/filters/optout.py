"""Honour opt-out requests: drop every file of an opted-out account or repository."""

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from bigcode_release.optout.export_format import OptOutList, read_optout_list


class OptOutFilter(BaseFilter):
    """Drop files of repositories an opt-out list names (`opted_out`), case-insensitively.

    The request id that removed a file is kept in its metadata (`optout_request_id`) so the
    drop ledger can say which request it was.
    """

    name = "🙅 opt-out"

    def __init__(self, optout_list_path: str | None, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.optout_list_path = optout_list_path
        self._list: OptOutList | None = None

    def _optouts(self) -> OptOutList:
        if self._list is None:
            self._list = read_optout_list(self.optout_list_path) if self.optout_list_path else OptOutList([])
        return self._list

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        request_id = self._optouts().match(doc.metadata["repo_name"])
        if request_id is None:
            return True
        doc.metadata["optout_request_id"] = request_id
        return False, "opted_out"
