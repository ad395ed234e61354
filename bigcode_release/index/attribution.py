"""Attribute a text to the training data: its maximal verbatim spans of at least N bytes that occur
in the dataset version, each with its source documents (first K, and how many files hold it, unless it
occurs more than `LIST_MAX_OCCURRENCES` times: too common to list) and their licenses; the share of the text covered; and a notice to paste for
the spans that look copied (`NOTICE_RULE`) from a license that requires attribution.

How common a span is decides what it means: a 40-byte import block is in thousands of files (an
idiom, nobody's to attribute), a 300-byte function body in two files was most likely copied."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

import pyarrow.parquet as pq

from bigcode_release.errors import DataIndexError
from bigcode_release.index.shards import ShardedIndex
from bigcode_release.license.spdx import license_terms

DEFAULT_MIN_BYTES = 64
DEFAULT_MAX_SOURCES = 5
# a span found more often than this is an idiom too common to list: its files are not counted (locating
# each occurrence costs microseconds in the FM-index, and the rule reads only the exact count, so every
# backend and sharding answers alike)
LIST_MAX_OCCURRENCES = 2_000
NOTICE_MIN_BYTES = 64  # a span asks for attribution only when at least this long ...
NOTICE_MAX_FILES = 10  # ... and in at most this many files of the data
NOTICE_RULE = (
    f"a span asks for attribution when it is at least {NOTICE_MIN_BYTES} bytes long and found in at most "
    f"{NOTICE_MAX_FILES} files of the data: long and rare, so most likely copied; shorter or more common spans "
    "are idioms"
)
MAX_TEXT_CHARS = 200_000
# licenses whose terms ask for no notice; any other license in an expression asks for attribution
# with a mask, how many of a span's documents are looked at to find visible sources
HIDDEN_LOOKAHEAD = 1000
NO_ATTRIBUTION = {"CC0-1.0", "Unlicense", "0BSD", "MIT-0", "WTFPL"}


@dataclass(frozen=True)
class Source:
    repo: str
    path: str
    license: str
    language: str
    url: str
    origin_repo: str | None = None  # a vendored copy: the project the code comes from ...
    origin_path: str | None = None  # ... and its path there
    origin_license: str | None = None  # that project's license, when it is in this dataset version

    @property
    def vendored(self) -> str | None:
        """`owner/name/path` of the code this copy was vendored from, or None."""
        return f"{self.origin_repo}/{self.origin_path}" if self.origin_repo else None


@dataclass
class Span:
    start: int  # character offsets into the text
    end: int
    bytes: int
    occurrences: int
    documents: int  # files holding the span (0 when not `documents_complete`: too common to list)
    sources: list[Source]
    documents_complete: bool = True

    @property
    def looks_copied(self) -> bool:
        """Long and rare enough to be copying rather than an idiom (`NOTICE_RULE`)."""
        return self.bytes >= NOTICE_MIN_BYTES and self.documents_complete and self.documents <= NOTICE_MAX_FILES

    def to_dict(self) -> dict:
        return {**asdict(self), "looks_copied": self.looks_copied}


@dataclass
class Attribution:
    dataset_version: str
    text_chars: int
    min_bytes: int
    spans: list[Span] = field(default_factory=list)
    hidden: int = 0  # sources left out by a mask (owners who opted out after this version was built)

    @property
    def covered_chars(self) -> int:
        return _covered(self.spans)

    @property
    def copied_chars(self) -> int:
        """Characters inside spans that look copied (`NOTICE_RULE`)."""
        return _covered([span for span in self.spans if span.looks_copied])

    @property
    def licenses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for span in self.spans:
            for license_ in {s.license for s in span.sources}:
                counts[license_] = counts.get(license_, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    @property
    def notice(self) -> str:
        """Lines to paste next to the code: one per source of a span that looks copied whose license
        asks for attribution."""
        lines, seen = [], set()
        for span in self.spans:
            if not span.looks_copied:
                continue
            for source in span.sources:
                terms = license_terms(source.origin_license or source.license)
                # vendored code whose own license the data does not know: credit it whatever the host's says
                unknown_origin = source.vendored is not None and source.origin_license is None
                if (source.repo, source.path) in seen or (
                    not unknown_origin and (not terms or terms <= NO_ATTRIBUTION)
                ):
                    continue
                seen.add((source.repo, source.path))
                line = f"- {source.repo}, {source.path} ({source.license}): {source.url}"
                if source.vendored:  # the code is the origin's: name it, and its license when the data has it
                    known = f" ({source.origin_license})" if source.origin_license else ""
                    line = (
                        f"- {source.origin_repo}, {source.origin_path}{known}: "
                        f"{source_url(source.origin_repo, source.origin_path)}; as vendored in {line[2:]}"
                    )
                lines.append(line)
        if not lines:
            return ""
        return "Portions of this code come from the following files; their licenses require attribution:\n" + "\n".join(
            lines
        )

    def to_dict(self) -> dict:
        return {
            "dataset_version": self.dataset_version,
            "text_chars": self.text_chars,
            "min_bytes": self.min_bytes,
            "covered_chars": self.covered_chars,
            "coverage": round(self.covered_chars / self.text_chars, 4) if self.text_chars else 0.0,
            "copied_chars": self.copied_chars,
            "copied_coverage": round(self.copied_chars / self.text_chars, 4) if self.text_chars else 0.0,
            "notice_rule": NOTICE_RULE,
            "licenses": self.licenses,
            "notice": self.notice,
            "spans": [s.to_dict() for s in self.spans],
            "hidden": self.hidden,
        }


def source_url(repo: str, path: str) -> str:
    """Where a file of the data lives upstream (its name and path percent-encoded)."""
    owner, _, name = repo.partition("/")
    if owner == "pypi":
        return f"https://pypi.org/project/{quote(name)}/"
    return f"https://github.com/{quote(repo)}/blob/HEAD/{quote(path)}"


class MembershipIndex:
    """A dataset version's membership shards and document table."""

    def __init__(self, folder: Path, dataset_version: str):
        self.folder = Path(folder)
        if not (self.folder / "membership").is_dir():
            raise DataIndexError(f"{self.folder}: no membership index; run `bigcode-release index build`")
        self.suffix = ShardedIndex(self.folder / "membership")
        self.table = pq.read_table(self.folder / "documents.parquet")
        self.dataset_version = dataset_version
        self._licenses: dict[str, str] | None = None

    def sources(self, numbers: list[int]) -> list[Source]:
        if not numbers:
            return []
        rows = self.table.take(numbers).to_pylist()
        return [
            Source(
                r["repo"],
                r["path"],
                r["license"],
                r["language"],
                source_url(r["repo"], r["path"]),
                r.get("origin_repo"),
                r.get("origin_path"),
                self._license_of(r.get("origin_repo")),
            )
            for r in rows
        ]

    def _license_of(self, repo: str | None) -> str | None:
        """The license of a repository in this version (of its first file), or None."""
        if not repo:
            return None
        if self._licenses is None:
            self._licenses = {}
            for name, license_ in zip(self.table.column("repo").to_pylist(), self.table.column("license").to_pylist()):
                self._licenses.setdefault(name, license_)
        return self._licenses.get(repo)

    def attribute(
        self,
        text: str,
        min_bytes: int = DEFAULT_MIN_BYTES,
        max_sources: int = DEFAULT_MAX_SOURCES,
        hide: Callable[[str, str], object] | None = None,
    ) -> Attribution:
        """The text's maximal spans found in the data, with sources (see the module docstring).
        `hide(repo, path)` true leaves a source out (an `OptOutMask.hides`); a span whose every
        source is hidden is left out too, and `hidden` counts the sources left out."""
        check_text(text)
        if min_bytes < 8:
            raise DataIndexError(f"--min-bytes must be at least 8 (shorter spans match everywhere), got {min_bytes}")
        data = text.encode("utf-8")
        char_at = _byte_to_char(text)
        result = Attribution(self.dataset_version, len(text), min_bytes)
        for start, end in self.suffix.maximal_spans(data, min_bytes):
            found = self.suffix.find(data[start:end])
            if hide is None:
                numbers, total, complete = self.suffix.documents(found, max_sources, LIST_MAX_OCCURRENCES)
                sources = self.sources(numbers)
            else:
                # look further than the sources listed: a span is shown only with a visible source
                numbers, total, complete = self.suffix.documents(
                    found, max(max_sources, HIDDEN_LOOKAHEAD), LIST_MAX_OCCURRENCES
                )
                seen = self.sources(numbers)
                visible = [s for s in seen if not hide(s.repo, s.path)]
                result.hidden += len(seen) - len(visible)
                if complete and not visible:
                    continue  # every source is hidden: the span is not shown
                total -= len(seen) - len(visible)
                sources = visible[:max_sources]
            result.spans.append(Span(char_at[start], char_at[end], end - start, found.count, total, sources, complete))
        return result


def _covered(spans: list[Span]) -> int:
    covered, reach = 0, 0
    for span in sorted(spans, key=lambda s: s.start):
        covered += max(0, span.end - max(span.start, reach))
        reach = max(reach, span.end)
    return covered


def check_text(text: str) -> None:
    if not text or not text.strip():
        raise DataIndexError("the text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise DataIndexError(
            f"the text has {len(text):,} characters; attribution takes at most {MAX_TEXT_CHARS:,} "
            "(for a large file, ask the portrait: `membership portrait-query`)"
        )
    if "\x00" in text:
        raise DataIndexError("the text contains NUL bytes: it looks binary, not source code")


def _byte_to_char(text: str) -> list[int]:
    """For every byte offset (and the end), the index of the character it belongs to (rounded up)."""
    mapping = []
    for index, char in enumerate(text):
        mapping.extend([index] * len(char.encode("utf-8")))
    mapping.append(len(text))
    return mapping


def decode_text(raw: bytes, origin: str) -> str:
    """Bytes read from a file or stdin as UTF-8 text, or a clear error naming the input."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataIndexError(f"{origin}: not UTF-8 text (invalid byte at offset {exc.start})") from None
