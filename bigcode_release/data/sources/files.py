"""Reading one source file: bytes to text, or the reason it cannot be text."""

from __future__ import annotations

from pathlib import Path

BINARY_SNIFF_BYTES = 8192


def decode_source(raw: bytes) -> tuple[str, str | None]:
    """Text of a file's bytes, or `("", reason)` with reason `binary` or `invalid_utf8`."""
    if b"\x00" in raw[:BINARY_SNIFF_BYTES]:
        return "", "binary"
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return "", "invalid_utf8"


def read_source_file(path: Path) -> tuple[str, str | None]:
    """Read and decode a file; `("", "unreadable")` when the OS refuses."""
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return "", "unreadable"
    return decode_source(raw)
