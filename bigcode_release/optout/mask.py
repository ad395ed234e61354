"""Opt-outs honoured at query time in versions built before them.

A dataset version is never rewritten, so an older version still holds the code of owners who opted
out after it was built. Search, membership and the Spaces answer from the newest version by
default; when someone asks an older one, the mask hides what was removed since: every file of an
owner or repository on the release's opt-out list that the version does not apply, and the files
the newest version removed as copies of their code. Each answer says how much it hid, and why.

The mask is read from files that are published with the release (the opt-out export and the newest
version's drop ledger), so a Space on the Hub can apply it without the maintainers' registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bigcode_release.data.stats import version_tables
from bigcode_release.layout import ReleaseLayout
from bigcode_release.manifest import read_manifest
from bigcode_release.optout.export import exported_list
from bigcode_release.optout.export_format import OptOutList, read_optout_list

if TYPE_CHECKING:  # the search index comes with the `space` extra; lookups do not need it
    from bigcode_release.index import bm25


@dataclass
class OptOutMask:
    """What to hide from answers about one dataset version."""

    version: str
    newest: str | None
    owners: OptOutList = field(default_factory=lambda: OptOutList([]))
    copies: dict[str, str] = field(default_factory=dict)  # `repo/path` -> request id

    @classmethod
    def for_version(cls, release: str | Path, version: str) -> OptOutMask:
        """The mask of `version`: requests on the opt-out list that it does not apply."""
        layout = ReleaseLayout.at(release)
        newest = layout.current_version()
        listed = exported_list(layout.optout_dir)
        manifest = read_manifest(layout.version_dir(version)) or {}
        applied = set(manifest.get("inputs", {}).get("optout", {}).get("request_ids") or [])
        entries = (
            [e for e in read_optout_list(listed).entries if e.request_id not in applied] if listed.is_file() else []
        )
        copies: dict[str, str] = {}
        if entries and newest and newest != version:
            found = version_tables(layout.version_dir(newest)).optout_copies([e.request_id for e in entries])
            copies = {row["file"]: row["request_id"] for row in found}
        return cls(version, newest, OptOutList(entries), copies)

    def __bool__(self) -> bool:
        return bool(self.owners.entries) or bool(self.copies)

    def hides(self, repo: str, path: str) -> str | None:
        """The request id that hides the file `repo/path` in this version, or None."""
        return self.owners.match(repo) or self.copies.get(f"{repo}/{path}")

    def note(self, hidden: int) -> str:
        """What an answer says about the files it hid."""
        if not hidden:
            return ""
        return (
            f"{hidden} result(s) hidden: their owners opted out after {self.version} was built "
            f"(removed in {self.newest or 'the next version'})"
        )


def masked_search(
    index_folder: Path,
    mask: OptOutMask,
    query: str,
    top: int = 10,
    offset: int = 0,
    texts: Callable[[int], str] | None = None,
    **filters,
) -> tuple[bm25.Results, int]:
    """One page of a BM25 search of a version's index without the files the mask hides: (the page
    and how many match in all, hidden count). Masked, results are fetched from the first on, a
    hundred more than the page needs, so hiding does not shorten the page. With `texts` (a document
    number's text), the page's hits carry excerpts (`bm25.with_snippets`)."""
    from bigcode_release.index import bm25

    folder = index_folder / "bm25"
    if not mask:
        found, hidden = bm25.search_page(folder, query, top, offset, **filters), 0
    else:
        fetched = bm25.search_page(folder, query, min(offset + top + 100, bm25.MAX_RESULTS), 0, **filters)
        visible = [hit for hit in fetched.hits if not mask.hides(hit.repo, hit.path)]
        hidden = len(fetched.hits) - len(visible)
        found = bm25.Results(visible[offset : offset + top], fetched.total - hidden)
    if texts is not None:
        found = bm25.Results(bm25.with_snippets(folder, query, found.hits, texts), found.total)
    return found, hidden
