"""One reader for the JSONL files the toolkit takes from users (benchmarks, problems, samples):
gzipped when the name ends in `.gz`, `-` for standard input, blank lines skipped, and every
problem reported with the file and line."""

from __future__ import annotations

import contextlib
import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from bigcode_release.errors import BigcodeReleaseError


def read_jsonl(path: str | Path, error: type[BigcodeReleaseError]) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line.

    Raises:
        `error`: the file cannot be read, a line is not JSON, or a line is not an object; the
            message names `path:line`.
    """
    if str(path) == "-":
        opened = contextlib.nullcontext(sys.stdin)
    else:
        path = Path(path)
        opener = gzip.open if path.suffix == ".gz" else open
        try:
            opened = opener(path, "rt", encoding="utf-8")
        except OSError as exc:
            raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with opened as handle:
        try:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise error(f"{path} line {number}: not JSON ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise error(f"{path} line {number}: expected an object, got {type(row).__name__}")
                yield number, row
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            raise error(f"{path}: cannot be read ({exc})") from None
