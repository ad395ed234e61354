"""Keep files of the selected programming languages."""

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter


class LanguageFilter(BaseFilter):
    """Drop files no language row claims (`unknown_language`) or of an unselected language."""

    name = "🔤 language"

    def __init__(self, selected: set[str] | None, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.selected = selected

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        language = doc.metadata.get("language")
        if language is None:
            return False, "unknown_language"
        if self.selected is not None and language not in self.selected:
            return False, "language_not_selected"
        return True
