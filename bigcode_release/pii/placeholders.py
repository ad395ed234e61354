"""Values that stand in for a secret without being one: placeholders (`changeme`, `<TOKEN>`,
`xxxxxx`), templates and references (`${DB_PASSWORD}`, `{{ .Values.password }}`, `%(password)s`,
`%PASSWORD%`), providers' documented examples (`...EXAMPLE...`) and runs of one character."""

from __future__ import annotations

import re
from functools import lru_cache

_PLACEHOLDER_VALUE = re.compile(
    r"(?i)^(?:x+|\*+|\.+|-+|<.*>|\{.*\}|\$\{?.*|%\([^)]*\)[sd]|%s|%[a-z_]+%|\[.*\]|your[_-]?.*|changeme|change[_-]me|"
    r"password\d*|passw0rd|secret|example.*|dummy.*|test.*|fake.*|sample.*|none|null|undefined|required|todo|"
    r"foo(?:bar)?\d*|bar\d*|baz\d*|admin|root|(.)\1+|12345.*|abc\d*|abcdef\w*|qwerty|pass|pw|pwd|passwd|pass_?word|"
    r"user|username|login|guest|my_?pass.*|hunter2|.*pass(?:word|wd)?[._-].*|.*[._-]pass(?:word|wd)?)$"
)
_REPEATED = re.compile(r"(.)\1{5,}")


@lru_cache(maxsize=1)
def heuristics():
    """detect-secrets' heuristic filters (UUIDs, templates, sequences, id strings), imported once."""
    from detect_secrets.filters import heuristic

    return heuristic


def is_placeholder(value: str) -> bool:
    """Whether `value` only stands in for a secret (see the module docstring)."""
    return bool(
        "EXAMPLE" in value
        or _PLACEHOLDER_VALUE.match(value)
        or _REPEATED.search(value)
        or heuristics().is_templated_secret(value)
    )
