"""Keep files of repositories whose license is permissive (decided per repository)."""

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from bigcode_release.license.spdx import categorise

_REASONS = {"no_license": "no_license", "unknown": "unknown_license", "non_permissive": "non_permissive_license"}


class LicenseFilter(BaseFilter):
    """Drop files whose repository license is missing, not understood, or not permissive.

    The repository's SPDX expression must be satisfiable with allow-listed ids alone:
    `MIT OR GPL-3.0-only` is kept, `MIT AND GPL-3.0-only` is not.
    """

    name = "⚖️ license"

    def __init__(self, allowlist: frozenset[str], exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.allowlist = frozenset(allowlist)
        self._categories: dict[str | None, str] = {}  # one parse per distinct expression

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        expression = doc.metadata.get("license_expression")
        if expression not in self._categories:
            self._categories[expression] = categorise(expression, self.allowlist)
        category = self._categories[expression]
        if category == "permissive":
            return True
        return False, _REASONS[category]
