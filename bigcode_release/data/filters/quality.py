"""BigCode's quality filters for code, one class per rule.

Order in a pipeline: size, decoding, generated, encoded data, line and character statistics.
Thresholds per language come from the language table (`tables/languages.csv`) and the recipe.
"""

from __future__ import annotations

import re

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from bigcode_release.data.document import DECODE_ERROR_KEY
from bigcode_release.data.languages import Language
from bigcode_release.recipe import EncodedDataConfig, LanguageThresholds
from bigcode_release.tables import table_path


class FileSizeFilter(BaseFilter):
    """Drop empty files (`empty`), and files outside [min, max] bytes (`too_small`, `too_large`)."""

    name = "📏 file size"

    def __init__(self, min_bytes: int, max_bytes: int, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.min_bytes = min_bytes
        self.max_bytes = max_bytes

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        size = doc.metadata["size"]
        if size == 0:
            return False, "empty"
        if size < self.min_bytes:
            return False, "too_small"
        if size > self.max_bytes:
            return False, "too_large"
        return True


class DecodingFilter(BaseFilter):
    """Drop files that are not UTF-8 text: `binary`, `invalid_utf8`, `unreadable`."""

    name = "🔣 decoding"

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        error = doc.metadata.pop(DECODE_ERROR_KEY, None)
        if error:
            return False, error
        return True


def _markers() -> tuple[str, ...]:
    text = table_path("generated_markers.txt").read_text(encoding="utf-8")
    return tuple(line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#"))


class GeneratedFileFilter(BaseFilter):
    """Drop generated files (`generated`: a marker in the first 1,000 characters) and minified
    files (`minified`: a `.min.` name, or JS/CSS made of very long lines)."""

    name = "🤖 generated"
    HEAD_CHARS = 1000
    MINIFIED_LANGUAGES = {"javascript", "css", "typescript"}

    def __init__(self, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.markers = _markers()

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        head = doc.text[: self.HEAD_CHARS].casefold()
        if any(marker in head for marker in self.markers):
            return False, "generated"
        name = doc.metadata["path"].rsplit("/", 1)[-1].lower()
        if ".min." in name:
            return False, "minified"
        if doc.metadata.get("language") in self.MINIFIED_LANGUAGES:
            lines = doc.text.count("\n") + 1
            if lines <= 5 and len(doc.text) > 2000:
                return False, "minified"
        return True


class EncodedDataFilter(BaseFilter):
    """Drop files carrying encoded blobs (`encoded_data`), as StarCoder2 did: runs of base64,
    hex, `\\x`/`\\u` escapes or `0x..` byte arrays, when any run is longer than `max_run_chars`
    or all runs together cover more than `max_fraction` of the file."""

    name = "🧬 encoded data"

    def __init__(self, config: EncodedDataConfig, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.max_run_chars = config.max_run_chars
        self.max_fraction = config.max_fraction
        n = config.min_run_chars
        self.pattern = re.compile(
            rf"[A-Za-z0-9+/]{{{n},}}={{0,2}}"  # base64 (hex digits are a subset)
            rf"|(?:\\x[0-9A-Fa-f]{{2}}){{{n // 4},}}"  # \x escapes
            rf"|(?:\\u[0-9A-Fa-f]{{4}}){{{n // 6},}}"  # \u escapes
            rf"|(?:0x[0-9A-Fa-f]{{2}},\s*){{{n // 6},}}"  # C byte arrays
        )

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        covered = 0
        for match in self.pattern.finditer(doc.text):
            length = match.end() - match.start()
            if length > self.max_run_chars:
                return False, "encoded_data"
            covered += length
        if doc.text and covered / len(doc.text) > self.max_fraction:
            return False, "encoded_data"
        return True


_NOT_ALNUM = re.compile(r"[\W_]+")
_NOT_ALPHA = re.compile(r"[\W\d_]+")


def _threshold(language: Language, override: LanguageThresholds | None, key: str):
    value = getattr(override, key) if override is not None else None
    return value if value is not None else getattr(language, key)


class CodeQualityFilter(BaseFilter):
    """BigCode's basic filter with per-language thresholds: `max_line_length`,
    `avg_line_length`, `alnum_fraction` and (for data formats) `alpha_fraction`."""

    name = "🧹 line and character statistics"
    KEYS = ("max_line_length", "avg_line_length", "alnum_fraction", "alpha_fraction")

    def __init__(
        self,
        languages: dict[str, Language],
        overrides: dict[str, LanguageThresholds] | None = None,
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer)
        overrides = overrides or {}
        self.thresholds = {
            name: tuple(_threshold(language, overrides.get(name), key) for key in self.KEYS)
            for name, language in languages.items()
        }

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        max_line, avg_line, min_alnum, min_alpha = self.thresholds.get(doc.metadata["language"], (None,) * 4)
        text = doc.text
        lines = text.splitlines() or [""]
        if max_line is not None and max(map(len, lines)) > max_line:
            return False, "max_line_length"
        if avg_line is not None and len(text) / len(lines) > avg_line:
            return False, "avg_line_length"
        if min_alnum is not None and len(_NOT_ALNUM.sub("", text)) < min_alnum * len(text):
            return False, "alnum_fraction"
        if min_alpha is not None and len(_NOT_ALPHA.sub("", text)) < min_alpha * len(text):
            return False, "alpha_fraction"
        return True
