"""What the data-inspection and membership Spaces do, as plain functions their apps wire to widgets.
Every bad input becomes a message (`**Error:** ...`), never an exception, so a Space stays up."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow.parquet as pq

from bigcode_release.errors import BigcodeReleaseError
from bigcode_release.index.attribution import MembershipIndex, source_url
from bigcode_release.index.build import current_index
from bigcode_release.layout import ReleaseLayout
from bigcode_release.optout.mask import OptOutMask, masked_search

RESULT_HEADERS = ["doc", "score", "repository", "path", "license", "language"]
SOURCE_HEADERS = ["span", "characters", "files", "repository", "path", "license"]
ANY = "(any)"


def _error(exc: Exception) -> str:
    return f"**Error:** {exc}"


class DataInspector:
    """Search, open and browse one dataset version's files (the newest by default), and show its
    license/language plots. In an older version, files of owners who opted out since are hidden."""

    def __init__(self, release: str | Path, version: str | None = None):
        self.release = Path(release)
        self.folder, self.version = current_index(self.release, version)
        self.mask = OptOutMask.for_version(self.release, self.version)
        self.membership = MembershipIndex(self.folder, self.version)
        table = pq.read_table(self.folder / "documents.parquet", columns=["repo", "path", "language", "license"])
        self.languages = sorted(set(table.column("language").to_pylist()))
        self.licenses = sorted(set(table.column("license").to_pylist()))
        self.by_language: dict[str, list[int]] = {}
        rows = zip(
            table.column("repo").to_pylist(), table.column("path").to_pylist(), table.column("language").to_pylist()
        )
        for number, (repo, path, language) in enumerate(rows):
            if not self.mask.hides(repo, path):
                self.by_language.setdefault(language, []).append(number)

    def plots(self) -> list[str]:
        version_dir = ReleaseLayout.at(self.release).version_dir(self.version)
        return [str(version_dir / name) for name in ("licenses.png", "languages.png") if (version_dir / name).is_file()]

    def search(self, query: str, language: str, license_: str) -> tuple[str, list[list]]:
        try:
            hits, hidden = masked_search(
                self.folder,
                self.mask,
                query or "",
                top=10,
                language=None if language in (None, "", ANY) else language,
                license_=None if license_ in (None, "", ANY) else license_,
            )
        except BigcodeReleaseError as exc:
            return _error(exc), []
        rows = [[h.doc, round(h.score, 2), h.repo, h.path, h.license, h.language] for h in hits]
        message = f"{len(hits)} result(s) in {self.version}" + ("" if hits else ": try fewer words or no filter")
        return message + (f"; {self.mask.note(hidden)}" if hidden else ""), rows

    def open(self, number) -> tuple[str, str]:
        """(metadata Markdown, file text) of a document number."""
        try:
            number = int(number)
            row = self.membership.table.take([number]).to_pylist()[0]
            text = self.membership.suffix.document_text(number)
        except (TypeError, ValueError, IndexError, KeyError):
            return _error(f"no file #{number!r} in {self.version}; pick a result or browse by language"), ""
        if self.mask.hides(row["repo"], row["path"]):
            return _error(f"file #{number} is hidden: {self.mask.note(1).split(': ', 1)[1]}"), ""
        meta = (
            f"**{row['repo']}** / `{row['path']}`  \nlicense: **{row['license']}** · language: {row['language']} · "
            f"{len(text.encode('utf-8')):,} bytes · [source]({source_url(row['repo'], row['path'])}) · "
            f"dataset {self.version}, file #{number}"
        )
        return meta, text

    def random_file(self, language: str) -> tuple[int | None, str, str]:
        numbers = self.by_language.get(language) or [n for group in self.by_language.values() for n in group]
        if not numbers:
            return None, _error("the dataset is empty"), ""
        number = random.choice(numbers)
        return number, *self.open(number)


class MembershipTest:
    """Paste code, see which spans are in the data, where from, under which license."""

    def __init__(self, release: str | Path, version: str | None = None):
        folder, version = current_index(release, version)
        self.index = MembershipIndex(folder, version)
        self.mask = OptOutMask.for_version(release, version)

    def check(self, text: str, min_bytes: int = 64) -> tuple[str, list[tuple[str, str | None]], list[list], str]:
        """(summary, highlighted segments, per-span sources, attribution notice)."""
        try:
            hide = self.mask.hides if self.mask else None
            result = self.index.attribute(text or "", min_bytes=int(min_bytes), hide=hide).to_dict()
        except (BigcodeReleaseError, ValueError) as exc:
            return _error(exc), [], [], ""
        segments, cursor = [], 0
        for number, span in enumerate(result["spans"], 1):
            start = max(span["start"], cursor)
            if start > cursor:
                segments.append((text[cursor:start], None))
            if span["end"] > start:
                segments.append((text[start : span["end"]], f"span {number}"))
            cursor = max(cursor, span["end"])
        if cursor < len(text):
            segments.append((text[cursor:], None))
        rows = [
            [
                number,
                f"{span['start']}-{span['end']}",
                span["documents"],
                source["repo"],
                source["path"],
                source["license"],
            ]
            for number, span in enumerate(result["spans"], 1)
            for source in span["sources"]
        ]
        summary = (
            f"**{result['coverage']:.0%}** of the text is in {result['dataset_version']} "
            f"({len(result['spans'])} span(s) of at least {result['min_bytes']} bytes); licenses: "
            f"{', '.join(f'{k} ({v})' for k, v in result['licenses'].items()) or 'none'}"
        ) + (f"; {self.mask.note(result['hidden'])}" if result["hidden"] else "")
        return summary, segments, rows, result["notice"] or "No attribution needed: nothing was found in the data."
