"""BigCode's quality filters for code, one class per rule.

Order in a pipeline: size, decoding, generated, encoded data, line and character statistics.
Thresholds per language come from the language table (`tables/languages.csv`) and the recipe.
"""

from __future__ import annotations

import re
import string

import numpy as np
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


_BASE64_TABLE = bytes(1 if chr(b) in string.ascii_letters + string.digits + "+/" else 0 for b in range(256))


def base64_runs(data: bytes, min_length: int) -> list[tuple[int, int]]:
    """(start, end) byte offsets of the runs of base64 characters (hex digits included) of at
    least `min_length`, each extended by up to two `=` of padding; vectorised, one pass."""
    if len(data) < min_length:
        return []
    mask = np.frombuffer(b"\0" + data.translate(_BASE64_TABLE) + b"\0", dtype=np.int8)
    edges = np.flatnonzero(mask[1:] != mask[:-1])
    starts, ends = edges[0::2], edges[1::2]
    long_runs = np.flatnonzero(ends - starts >= min_length)
    runs = []
    for start, end in zip(starts[long_runs].tolist(), ends[long_runs].tolist()):
        padding = 0
        while padding < 2 and data[end + padding : end + padding + 1] == b"=":
            padding += 1
        runs.append((start, end + padding))
    return runs


class EncodedDataFilter(BaseFilter):
    """Drop files carrying encoded blobs (`encoded_data`), as StarCoder2 did: runs of base64,
    hex, `\\x`/`\\u` escapes or `0x..` byte arrays, when any run is longer than `max_run_chars`
    or all runs together cover more than `max_fraction` of the file.

    Base64/hex runs are found with a byte table in numpy; the escape and byte-array patterns
    only run on files that contain enough of their marker to make one run."""

    name = "🧬 encoded data"

    def __init__(self, config: EncodedDataConfig, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.max_run_chars = config.max_run_chars
        self.max_fraction = config.max_fraction
        n = config.min_run_chars
        self.min_run_chars = n
        # (marker, how many markers one run needs at least, pattern)
        self.escape_patterns = [
            ("\\x", n // 4, re.compile(rf"(?:\\x[0-9A-Fa-f]{{2}}){{{n // 4},}}")),
            ("\\u", n // 6, re.compile(rf"(?:\\u[0-9A-Fa-f]{{4}}){{{n // 6},}}")),
            ("0x", n // 6, re.compile(rf"(?:0x[0-9A-Fa-f]{{2}},\s*){{{n // 6},}}")),
        ]

    def _run_lengths(self, text: str):
        for start, end in base64_runs(text.encode("utf-8", "surrogatepass"), self.min_run_chars):
            yield end - start
        for marker, needed, pattern in self.escape_patterns:
            if text.count(marker) >= max(needed, 1):
                for match in pattern.finditer(text):
                    yield match.end() - match.start()

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        covered = 0
        for length in self._run_lengths(doc.text):
            if length > self.max_run_chars:
                return False, "encoded_data"
            covered += length
        if doc.text and covered / len(doc.text) > self.max_fraction:
            return False, "encoded_data"
        return True


_NOT_ALNUM = re.compile(r"[\W_]+")
_NOT_ALPHA = re.compile(r"[\W\d_]+")
_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ASCII_NOT_ALNUM = bytes(b for b in range(128) if b not in _ASCII_LETTERS + b"0123456789")
_ASCII_NOT_ALPHA = bytes(b for b in range(128) if b not in _ASCII_LETTERS)


_ASCII_BYTES = bytes(range(128))


def _count_kept(text: str, ascii_deleted: bytes, unicode_pattern: re.Pattern) -> int:
    """Characters of `text` that survive deleting `ascii_deleted` bytes and `unicode_pattern`
    matches: ASCII through `bytes.translate`, the (few) non-ASCII characters through the pattern.
    Deleting ASCII bytes from UTF-8 never splits a multi-byte character."""
    raw = text.encode("utf-8", "surrogatepass")
    kept = len(raw.translate(None, ascii_deleted + _HIGH_BYTES))
    if not text.isascii():
        others = raw.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")
        kept += len(unicode_pattern.sub("", others))
    return kept


_HIGH_BYTES = bytes(range(128, 256))


def count_alnum(text: str) -> int:
    """Letters and digits in `text` (Unicode-aware, at C speed)."""
    return _count_kept(text, _ASCII_NOT_ALNUM, _NOT_ALNUM)


def count_alpha(text: str) -> int:
    """Letters in `text` (Unicode-aware, at C speed)."""
    return _count_kept(text, _ASCII_NOT_ALPHA, _NOT_ALPHA)


_OTHER_LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e"


def line_stats(text: str) -> tuple[int, int]:
    """(number of lines, longest line) as `str.splitlines` counts them; numpy for ASCII text."""
    if text.isascii() and not any(c in text for c in _OTHER_LINE_BREAKS):
        if not text:
            return 1, 0
        newlines = np.flatnonzero(np.frombuffer(text.encode("ascii"), dtype=np.uint8) == 10)
        bounds = np.concatenate(([-1], newlines, [len(text)]))
        lengths = np.diff(bounds) - 1
        count = newlines.size + (0 if text.endswith("\n") else 1)
        return count, int(lengths.max())
    lines = text.splitlines() or [""]
    return len(lines), max(map(len, lines))


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
        line_count, longest = line_stats(text)
        if max_line is not None and longest > max_line:
            return False, "max_line_length"
        if avg_line is not None and len(text) / line_count > avg_line:
            return False, "avg_line_length"
        if min_alnum is not None and count_alnum(text) < min_alnum * len(text):
            return False, "alnum_fraction"
        if min_alpha is not None and count_alpha(text) < min_alpha * len(text):
            return False, "alpha_fraction"
        return True
