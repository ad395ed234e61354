"""What the data-inspection and membership Spaces do, as plain functions their apps wire to widgets.
Every bad input becomes a message (`**Error:** ...`), never an exception, so a Space stays up."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow.parquet as pq

from bigcode_release.errors import BigcodeReleaseError
from bigcode_release.index.attribution import DEFAULT_MIN_BYTES, MembershipIndex, source_url
from bigcode_release.index.build import current_index
from bigcode_release.index.highlight import highlighted_code
from bigcode_release.index.pages import read_into_page_cache
from bigcode_release.layout import ReleaseLayout
from bigcode_release.license.spdx import license_terms
from bigcode_release.markdown import error, escape
from bigcode_release.optout.mask import OptOutMask, masked_search

RESULT_HEADERS = ["file #", "score", "repository", "path", "license", "language"]
SOURCE_HEADERS = [
    "span",
    "lines",
    "bytes",
    "files with it",
    "looks copied",
    "repository",
    "path",
    "license",
    "vendored copy of",
]
ANY = "(any)"
# the source columns of a span too common to list its files (attribution.LIST_MAX_OCCURRENCES)
TOO_COMMON = {"repo": "(too common to list)", "path": "", "license": "", "origin_repo": None}
PAGE_SIZE = 10


class DataInspector:
    """Search, open and browse one dataset version's files (the newest by default), and show its
    license/language plots. In an older version, files of owners who opted out since are hidden."""

    def __init__(self, release: str | Path, version: str | None = None):
        self.release = Path(release)
        self.folder, self.version = current_index(self.release, version)
        self.mask = OptOutMask.for_version(self.release, self.version)
        self.membership = MembershipIndex(self.folder, self.version)
        read_into_page_cache(self.folder)  # a server: its first queries should not wait on the disk
        table = pq.read_table(self.folder / "documents.parquet", columns=["repo", "path", "language", "license"])
        self.languages = sorted(set(table.column("language").to_pylist()))
        self.expressions = sorted(set(table.column("license").to_pylist()))
        # the filter offers each license once; it matches every expression that names it
        self.licenses = sorted({term for expression in self.expressions for term in license_terms(expression)})
        self.by_language: dict[str, list[int]] = {}
        rows = zip(
            table.column("repo").to_pylist(), table.column("path").to_pylist(), table.column("language").to_pylist()
        )
        for number, (repo, path, language) in enumerate(rows):
            if not self.mask.hides(repo, path):
                self.by_language.setdefault(language, []).append(number)

    @property
    def largest_language(self) -> str | None:
        """The language with the most files (where random browsing starts)."""
        return max(self.by_language, key=lambda language: len(self.by_language[language]), default=None)

    def plots(self) -> list[str]:
        version_dir = ReleaseLayout.at(self.release).version_dir(self.version)
        return [str(version_dir / name) for name in ("licenses.png", "languages.png") if (version_dir / name).is_file()]

    def search(self, query: str, language: str, license_: str, page: int = 1) -> tuple[str, list[list], int]:
        """(message, rows, page shown) for one page of results (`PAGE_SIZE` a page, from 1); a license
        matches every expression that names it (`MIT` finds `MIT AND PSF-2.0` too)."""
        try:
            page = max(1, int(page or 1))
            expressions = None
            if license_ not in (None, "", ANY):
                expressions = [e for e in self.expressions if license_ in license_terms(e)] or [license_]
            found, hidden = masked_search(
                self.folder,
                self.mask,
                query or "",
                top=PAGE_SIZE,
                offset=(page - 1) * PAGE_SIZE,
                language=None if language in (None, "", ANY) else language,
                license_=expressions,
            )
        except (BigcodeReleaseError, TypeError, ValueError) as exc:
            return error(exc), [], 1
        hits = found.hits
        rows = [[h.doc, round(h.score, 2), h.repo, h.path, h.license, h.language] for h in hits]
        if hits:
            first = (page - 1) * PAGE_SIZE + 1
            message = f"Results {first:,}-{first + len(hits) - 1:,} of {found.total:,} in {self.version}"
            if first + len(hits) - 1 < found.total:
                message += " (Next page for more)"
        elif found.total:
            message = f"No results on page {page}: there are {found.total:,} in {self.version}"
        else:
            message = f"No results in {self.version}: try fewer words or no filter"
        return message + (f"; {self.mask.note(hidden)}" if hidden else ""), rows, page

    def open(self, number) -> tuple[str, str]:
        """(metadata Markdown, file text) of a document number."""
        try:
            number = int(number)
            row = self.membership.table.take([number]).to_pylist()[0]
            text = self.membership.suffix.document_text(number)
        except (TypeError, ValueError, IndexError, KeyError):
            return error(f"no file #{number!r} in {self.version}; pick a result or browse by language"), ""
        if self.mask.hides(row["repo"], row["path"]):
            return error(f"file #{number} is hidden: {self.mask.note(1).split(': ', 1)[1]}"), ""
        meta = (
            f"**{escape(row['repo'])}** / {escape(row['path'])}  \nlicense: **{escape(row['license'])}** · language: "
            f"{escape(row['language'])} · {len(text.encode('utf-8')):,} bytes · "
            f"[source](<{source_url(row['repo'], row['path'])}>) · "
            f"dataset {self.version}, file #{number}"
        )
        if row.get("origin_repo"):
            meta += f"  \nvendored copy of **{escape(row['origin_repo'])}** / {escape(row['origin_path'])}"
        return meta, text

    def random_file(self, language: str) -> tuple[int | None, str, str]:
        numbers = self.by_language.get(language) or [n for group in self.by_language.values() for n in group]
        if not numbers:
            return None, error("the dataset is empty"), ""
        number = random.choice(numbers)
        return number, *self.open(number)


class MembershipTest:
    """Paste code, see which spans are in the data, where from, under which license."""

    def __init__(self, release: str | Path, version: str | None = None):
        folder, version = current_index(release, version)
        self.index = MembershipIndex(folder, version)
        read_into_page_cache(folder / "membership")
        self.mask = OptOutMask.for_version(release, version)

    def check(self, text: str, min_bytes: int = DEFAULT_MIN_BYTES) -> tuple[str, str, list[list], str]:
        """(summary in Markdown, the code as HTML with its spans marked, one row per span and source,
        attribution notice)."""
        try:
            hide = self.mask.hides if self.mask else None
            result = self.index.attribute(text or "", min_bytes=int(min_bytes), hide=hide).to_dict()
        except (BigcodeReleaseError, TypeError, ValueError) as exc:
            return error(exc), "", [], ""
        spans = result["spans"]
        line_of = _line_numbers(text)
        rows = [
            [
                number,
                _lines(line_of, span["start"], span["end"]),
                span["bytes"],
                f"{span['documents']:,}" if span["documents_complete"] else f"found {span['occurrences']:,} times",
                "yes" if span["looks_copied"] else "no (an idiom)",
                source["repo"],
                source["path"],
                source["license"],
                _vendored(source),
            ]
            for number, span in enumerate(spans, 1)
            for source in span["sources"] or [TOO_COMMON]
        ]
        copied = [span for span in spans if span["looks_copied"]]
        size = len(text.encode("utf-8"))
        if size < result["min_bytes"]:
            summary = (
                f"The text has {size:,} bytes, fewer than the shortest span asked ({result['min_bytes']:,} bytes)."
            )
        else:
            summary = (
                f"**{result['copied_coverage']:.0%}** of the text is in {len(copied)} span(s) that look copied; "
                f"{result['coverage']:.0%} matches {len(spans)} span(s) of at least {result['min_bytes']} bytes in "
                f"{result['dataset_version']}. Rule: {result['notice_rule']}."
            )
            licenses = sorted({source["license"] for span in copied for source in span["sources"]})
            if licenses:
                summary += f" Licenses of the copied spans: {', '.join(licenses)}."
        if result["hidden"]:
            summary += f" {self.mask.note(result['hidden'])}."
        notice = result["notice"] or "No attribution needed: no span that looks copied comes from such a license."
        return summary, highlighted_code(text, spans), rows, notice


def _vendored(source: dict) -> str:
    """What a vendored copy's code is (its project, path there and that project's license), or ""."""
    if not source.get("origin_repo"):
        return ""
    license_ = f" ({source['origin_license']})" if source.get("origin_license") else ""
    return f"{source['origin_repo']}/{source['origin_path']}{license_}"


def _line_numbers(text: str) -> list[int]:
    """The line number (from 1) of every character offset of `text`, and of its end."""
    numbers, line = [], 1
    for char in text:
        numbers.append(line)
        line += char == "\n"
    return [*numbers, line]


def _lines(line_of: list[int], start: int, end: int) -> str:
    first, last = line_of[start], line_of[max(start, end - 1)]
    return str(first) if first == last else f"{first}-{last}"
