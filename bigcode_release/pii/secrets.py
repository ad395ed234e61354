"""Secrets and keys: detect-secrets' plugins on candidate lines, then a check against the
classic false positives.

detect-secrets on every line of a file costs about twenty times the whole dedup, so lines are
picked first with numpy: lines holding a run of 16+ token characters that mixes letters and
digits, a private-key header, or a password-like keyword. On those lines run the plugins BigCode
kept (Keyword, BasicAuth and PrivateKey aside; private keys and passwords have rules of their
own here) and detect-secrets' heuristic filters (UUIDs, id strings, templates, sequences). A
high-entropy string is then kept only when it looks like gibberish (`looks_random`), is not a
hash on a line about hashes, and (hex strings) sits on a line that names a key, token or secret.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache

import numpy as np

from bigcode_release.pii import bytescan, passwords
from bigcode_release.pii.findings import KEY, Finding
from bigcode_release.pii.placeholders import heuristics, is_placeholder

MIN_TOKEN = 16

_PLUGINS = (
    "ArtifactoryDetector",
    "AWSKeyDetector",
    "AzureStorageKeyDetector",
    "CloudantDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "IbmCloudIamDetector",
    "IbmCosHmacDetector",
    "JwtTokenDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SoftlayerDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TelegramBotTokenDetector",
    "TwilioKeyDetector",
)
_HIGH_ENTROPY = {"Base64 High Entropy String", "Hex High Entropy String"}
_HASH_WORDS = re.compile(r"(?i)sha\d*|md5|hash|digest|checksum|integrity|commit|revision|\brev\b|fingerprint|etag|crc")
_SECRET_WORDS = re.compile(r"(?i)key|secret|token|passw|auth|credential|api|bearer|signature|salt")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?P<kind>(?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----"
    r"[\s\S]{16,}?-----END (?P=kind)-----"
)
_HEX_RUN = re.compile(r"[0-9a-fA-F]{16,}")
# providers' key formats detect-secrets has no plugin for (or only an older format of)
_PROVIDER_KEYS = (  # (detector, the format's literal start, the format)
    ("huggingface_token", "hf_", re.compile(r"\bhf_[A-Za-z0-9]{30,40}\b")),
    ("google_api_key", "AIza", re.compile(r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")),
    ("npm_token", "npm_", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("openai_key", "sk-", re.compile(r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}")),
    ("anthropic_key", "sk-ant-", re.compile(r"\bsk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{40,}")),
    ("mailgun_key", "key-", re.compile(r"\bkey-[0-9a-f]{32}\b")),
    ("github_fine_grained_token", "github_pat_", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{60,}")),
    ("databricks_token", "dapi", re.compile(r"\bdapi[0-9a-f]{32}\b")),
    ("django_secret_key", "django-insecure-", re.compile(r"django-insecure-[^\s'\"]{40,}")),
)
# a value assigned to a name that says it is a secret (`client_secret: ...`, `SECRET_KEY = '...'`)
_SECRET_NAME_WORDS = (
    r"secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|auth[_-]?key|signing[_-]?key|"
    r"encryption[_-]?key|master[_-]?key|fernet[_-]?key|salt|credentials?"
)
_SECRET_ASSIGNMENT = re.compile(
    rf"""(?ix)(?P<name>[\w.-]*(?:{_SECRET_NAME_WORDS})[\w.-]*)["']?\s*(?::=|=>|=|:)\s*"""
    r"""(?:[bru]?(?P<quote>["'])(?P<quoted>[^"'\n]{16,256})(?P=quote)"""
    r"""|(?P<bare>[^\s"'#,;(){}\[\]<>$%]{16,256})(?=[\s#,;]|$))"""
)
_NOT_SECRET_NAME = re.compile(
    r"(?i)public|publishable|(?:^|[_.-])id$|_ids?[_.-]|url|uri|path|file|type|name|length|size|count|max|min|"
    r"endpoint|header|prefix|expir|ttl|limit|timeout|usage|field|column|param"
)
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_STRONG_SECRET_NAME = re.compile(r"(?i)secret|token|auth|api[_-]?key|apikey")
# an AWS secret access key: 40 base64 characters under its own name, random or not by our measure
_AWS_SECRET_NAME = re.compile(r"(?i)aws.?secret|secret.?access.?key")
_AWS_SECRET_VALUE = re.compile(r"[A-Za-z0-9/+]{40}")
# a secret-named assignment starts with one of these words (the rest of the name, then `=`, `:`, `=>`);
# a password line holds one of the others; both searched in the lowercased bytes
_SECRET_WORDS_BYTES = (b"secret", b"token", b"key", b"salt", b"credential")
_SECRET_NAME_TAIL = re.compile(rb"[\w.-]{0,40}[\"']?[ \t]*(?::=|=>|=|:)")
_SECRET_PREFIXES = (
    "AKIA",
    "ASIA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xox",
    "sk_live_",
    "rk_live_",
    "sk-",
    "SG.",
    "AIza",
    "eyJ",
    "npm_",
    "pypi-",
    "sq0",
    "AKC",
    "AccountKey",
    "SK",
    "hf_",
    "github_pat_",
    "dapi",
)


def shannon_entropy(text: str) -> float:
    counts = Counter(text)
    total = len(text)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


_CHUNK = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_VOWELS = set("aeiouAEIOU")


def wordlike_fraction(value: str) -> float:
    """Share of `value` in word-like chunks (camelCase/snake_case pieces of 4+ letters with a
    vowel): high for identifiers and model names, low for generated keys."""
    chunks = [c for c in _CHUNK.findall(value) if len(c) >= 4 and _VOWELS.intersection(c)]
    return sum(map(len, chunks)) / max(len(value), 1)


def looks_random(value: str) -> bool:
    """A string that reads like a generated secret, not like words, paths or a counting pattern:
    long enough, high entropy for its length, digits mixed with letters, no long word-like run.
    (A random 24-character base64 string has no digit with probability 1.7%.)"""
    if len(value) < MIN_TOKEN:
        return False
    core = value.strip("=")
    if not any(c.isdigit() for c in core) or not any(c.isalpha() for c in core):
        return False
    if shannon_entropy(core) < 0.85 * math.log2(min(len(core), 64)):
        return False
    longest_alpha_run = max((len(run) for run in re.findall(r"[a-z]+|[A-Z][a-z]+", core)), default=0)
    return longest_alpha_run < 12 and wordlike_fraction(core) < 0.5


@lru_cache(maxsize=1)
def _plugins():
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString, HexHighEntropyString

    classes = {cls.__name__: cls for cls in get_mapping_from_secret_type_to_class().values()}
    return [classes[name]() for name in _PLUGINS] + [
        Base64HighEntropyString(limit=4.5),
        HexHighEntropyString(limit=3.0),
    ]


_PREFIXES_BYTES = tuple(prefix.encode() for prefix in _SECRET_PREFIXES)
_PREFIX_STARTS = np.zeros(1 << 16, dtype=bool)  # first two bytes of a provider's key prefix
_PREFIX_STARTS[[ord(p[0]) * 256 + ord(p[1]) for p in _SECRET_PREFIXES]] = True


_UPPER, _LOWER, _DIGIT, _NOT_HEX, _OTHER = 1, 2, 4, 8, 16
_TOKEN_CLASSES = bytescan.table(
    {
        _UPPER: string.ascii_uppercase,
        _LOWER: string.ascii_lowercase,
        _DIGIT: string.digits,
        _NOT_HEX: "GHIJKLMNOPQRSTUVWXYZghijklmnopqrstuvwxyz+/_-",
        _OTHER: "+/_-",
    }
)


Lines = list[tuple[int, int]]


def candidate_lines(text: str, raw: bytes | None = None) -> tuple[Lines, Lines, Lines]:
    """(start, end) character offsets of the lines worth a key scan, of those that may assign a
    secret-named key, and of those worth a password scan. `raw` is the text's UTF-8 bytes when
    the caller has them already; the scans run on the bytes and map positions back to lines."""
    raw = text.encode("utf-8", "surrogatepass") if raw is None else raw
    lines = _ByteLines(text, raw)
    key_spans = {
        lines.of(start)
        for start, end, shaped in _token_runs(raw)
        if (shaped and (end - start < 20 or len(set(raw[start:end])) >= 20)) or raw.startswith(_PREFIXES_BYTES, start)
    }
    secret_named, password_spans = _hint_lines(raw, lines)
    position = text.find("://")
    while position != -1:  # scheme://user:password@host
        at = text.find("@", position, position + 160)
        if at != -1:
            password_spans.add(_line_of(text, position))
        position = text.find("://", position + 3)
    return sorted(key_spans), sorted(secret_named), sorted(password_spans)


class _ByteLines:
    """The character span of the line holding a UTF-8 byte offset (the same offset for ASCII text)."""

    def __init__(self, text: str, raw: bytes):
        self.text, self.raw = text, raw
        self.ascii = len(raw) == len(text)
        self._newlines: tuple[np.ndarray, np.ndarray] | None = None

    def of(self, position: int) -> tuple[int, int]:
        if self.ascii:
            return _line_of(self.text, position)
        if self._newlines is None:  # the n-th newline is at these byte and character offsets
            wide = np.frombuffer(self.text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
            narrow = np.frombuffer(self.raw, dtype=np.uint8)
            self._newlines = (np.flatnonzero(narrow == 10), np.flatnonzero(wide == 10))
        byte_newlines, char_newlines = self._newlines
        index = int(np.searchsorted(byte_newlines, position))
        start = int(char_newlines[index - 1]) + 1 if index > 0 else 0
        end = int(char_newlines[index]) if index < len(char_newlines) else len(self.text)
        return start, end


def _token_runs(raw: bytes) -> list[tuple[int, int, bool]]:
    """Byte spans of token runs of 16+ characters that are shaped like a secret (hex only, or 20+
    characters mixing upper, lower and digits) or start like a provider's key; and which it is."""
    flags = bytescan.classify(raw, _TOKEN_CLASSES)
    starts, ends = bytescan.runs(flags, MIN_TOKEN)
    if starts.size == 0:
        return []
    union = bytescan.run_union(flags, starts, ends)
    hex_only = (union & _NOT_HEX) == 0
    mixed = (ends - starts >= 20) & ((union & (_UPPER | _LOWER | _DIGIT)) == (_UPPER | _LOWER | _DIGIT))
    shaped = hex_only | mixed
    first_two = (
        np.frombuffer(raw, dtype=np.uint8)[starts].astype(np.int32) * 256
        + np.frombuffer(raw, dtype=np.uint8)[starts + 1]
    )
    keep = shaped | _PREFIX_STARTS[first_two]
    return list(zip(starts[keep].tolist(), ends[keep].tolist(), shaped[keep].tolist()))


def _hint_lines(raw: bytes, lines: _ByteLines) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """(lines that may assign a secret-named key, lines that may hold a password). `bytes.lower`
    changes ASCII letters only, so UTF-8 offsets survive it."""
    lowered = raw.lower()
    secret_named = {
        lines.of(position)
        for word in _SECRET_WORDS_BYTES
        for position in _positions(lowered, word)
        if _SECRET_NAME_TAIL.match(lowered, position + len(word))
    }
    password = {lines.of(position) for marker in passwords.MARKERS for position in _positions(lowered, marker)}
    password |= {
        lines.of(p)
        for p in _positions(lowered, passwords.MYSQL_FLAG)
        if lowered[p + 3 : p + 4] not in (b"", b" ", b"\n")
    }
    return secret_named, password


def _positions(data: bytes, marker: bytes) -> Iterator[int]:
    position = data.find(marker)
    while position != -1:
        yield position
        position = data.find(marker, position + 1)


def _line_of(text: str, position: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return start, len(text) if end == -1 else end


def _keep_plugin_hit(secret_type: str, value: str, line: str, context: str) -> bool:
    """Whether a detect-secrets hit is a secret; `context` is the line and the two before it."""
    heuristic = heuristics()
    if (
        "EXAMPLE" in value  # providers' documented examples (AWS's AKIAIOSFODNN7EXAMPLE)
        or heuristic.is_potential_uuid(value)
        or heuristic.is_templated_secret(value)
        or heuristic.is_sequential_string(value)
    ):
        return False
    if secret_type not in _HIGH_ENTROPY:  # a provider's own key format: precise enough
        return True
    if _HASH_WORDS.search(line) and not _SECRET_WORDS.search(line):
        return False  # a line about hashes that names no key or token
    if heuristic.is_prefixed_with_dollar_sign(value) or heuristic.is_likely_id_string(value, line):
        return False
    if value.startswith(_SECRET_PREFIXES):
        return True
    if not looks_random(value) and not (secret_type.startswith("Hex") and len(value) >= 24):
        return False
    if _HASH_WORDS.search(context) and len(value) in (32, 40, 56, 64, 96, 128):
        return False
    if secret_type.startswith("Hex"):
        return bool(_SECRET_WORDS.search(line)) and not _HASH_WORDS.search(line)
    return True


def looks_like_key(value: str) -> bool:
    """A generated key that may hold symbols (a Django `SECRET_KEY`, a WordPress salt): long, three
    kinds of characters or more, high entropy for its length, mostly not word-like chunks."""
    if len(value) < 20:
        return False
    kinds = sum(
        any(test(c) for c in value) for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    )
    entropy_floor = 0.8 * math.log2(min(len(value), 64))
    return kinds >= 3 and shannon_entropy(value) >= entropy_floor and wordlike_fraction(value) < 0.5


def _provider_keys(line_start: int, line: str) -> Iterator[Finding]:
    """Keys in the formats of `_PROVIDER_KEYS`."""
    for detector, start, pattern in _PROVIDER_KEYS:
        if start not in line:
            continue
        for match in pattern.finditer(line):
            if not is_placeholder(match.group(0)) and shannon_entropy(match.group(0)) >= 3.0:
                yield Finding(line_start + match.start(), line_start + match.end(), KEY, detector)


def _random_enough(name: str, value: str) -> bool:
    """Under a name that says secret, token or API key, a long value with digits and letters needs
    less proof of randomness (generated tokens of 24+ characters do have word-like chunks)."""
    if not _STRONG_SECRET_NAME.search(name) or len(value) < 24:
        return False
    has_both = any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
    floor = 0.75 * math.log2(min(len(value), 64))
    return has_both and shannon_entropy(value) >= floor and wordlike_fraction(value) < 0.6


def _secret_assignments(line_start: int, line: str) -> Iterator[Finding]:
    """Values assigned to secret-named keys that read like generated secrets."""
    for match in _SECRET_ASSIGNMENT.finditer(line):
        name = match.group("name")
        value = match.group("quoted") or match.group("bare")
        if _NOT_SECRET_NAME.search(name) or _HASH_WORDS.search(name) or "://" in value or is_placeholder(value):
            continue
        if match.group("bare") and _DOTTED_NAME.fullmatch(value):
            continue  # `private_key: ed25519.Ed25519PrivateKey`: a type or an attribute, not a value
        heuristic = heuristics()
        if heuristic.is_potential_uuid(value) or heuristic.is_sequential_string(value):
            continue
        hex_secret = bool(_HEX_RUN.fullmatch(value)) and len(value) >= 32 and bool(_STRONG_SECRET_NAME.search(name))
        aws_secret = bool(_AWS_SECRET_NAME.search(name) and _AWS_SECRET_VALUE.fullmatch(value))
        if hex_secret or aws_secret or looks_random(value) or looks_like_key(value) or _random_enough(name, value):
            start = match.start("quoted") if match.group("quoted") else match.start("bare")
            yield Finding(line_start + start, line_start + start + len(value), KEY, "secret_assignment")


def find_secrets(text: str, raw: bytes | None = None) -> Iterator[Finding]:
    """Keys, tokens, private keys and passwords in `text` (`raw`: its UTF-8 bytes, if at hand)."""
    if "PRIVATE KEY" in text:
        for match in _PRIVATE_KEY.finditer(text):
            yield Finding(match.start(), match.end(), KEY, "private_key")
    key_lines, secret_named, password_lines = candidate_lines(text, raw)
    key_line_set = set(key_lines)
    for line_start, line_end in key_lines:
        line = text[line_start:line_end]
        if len(line) > 4096:
            continue
        previous = text.rfind("\n", 0, max(line_start - 1, 0))
        context = text[text.rfind("\n", 0, max(previous, 0)) + 1 : line_end] if line_start else line
        for plugin in _plugins():
            for hit in plugin.analyze_line(filename="scan", line=line):
                value = hit.secret_value
                if not value or not _keep_plugin_hit(plugin.secret_type, value, line, context):
                    continue
                position = line.find(value)
                while position != -1:
                    yield Finding(
                        line_start + position, line_start + position + len(value), KEY, plugin.__class__.__name__
                    )
                    position = line.find(value, position + len(value))
        yield from _provider_keys(line_start, line)
    for line_start, line_end in secret_named:
        line = text[line_start:line_end]
        if len(line) > 4096:
            continue
        yield from _secret_assignments(line_start, line)
        if (line_start, line_end) not in key_line_set:
            yield from _provider_keys(line_start, line)
    yield from passwords.find_passwords(text, password_lines)
