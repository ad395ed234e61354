"""Emails and IP addresses, with BigCode's false-positive rules and a few more.

Kept as they are (not personal): reserved example domains (RFC 2606/6761), `git@host:` remotes,
image names like `icon@2x.png`; IPs that are private, loopback, link-local, multicast or reserved,
the documentation ranges (RFC 5737, RFC 3849), well-known public DNS resolvers, version-like
dotted quads (`1.2.3.4`, or after `version`/`v`/`==`), parts of longer dotted numbers (OIDs),
and anything `ipaddress` does not parse. Candidates are found with numpy byte tables first, so
the regular expressions only run around an `@`, a digit-dot-digit cluster or a hex-colon run.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import numpy as np

from bigcode_release.pii import bytescan
from bigcode_release.pii.findings import EMAIL, IP_ADDRESS, Finding

_EMAIL = re.compile(
    r"(?<![\w.%+-])([A-Za-z0-9][A-Za-z0-9._%+-]{0,63})@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"([A-Za-z]{2,24}))(?![\w-])"
)
_RESERVED_DOMAINS = (
    "example.com",
    "example.org",
    "example.net",
    "example.edu",
    "test",
    "example",
    "invalid",
    "localhost",
    "local",
    "domain.com",
    "email.com",
    "mail.com",
    "yourdomain.com",
    "company.com",
)
_FILE_SUFFIXES = {
    "png",
    "jpg",
    "jpeg",
    "gif",
    "svg",
    "webp",
    "bmp",
    "ico",
    "py",
    "js",
    "ts",
    "css",
    "html",
    "json",
    "txt",
    "md",
    "map",
    "min",
    "tar",
    "gz",
    "zip",
    "whl",
}
_GIT_HOSTS = ("github.com", "gitlab.com", "bitbucket.org")

DNS_SERVERS = frozenset(
    {
        "8.8.8.8",
        "8.8.4.4",
        "1.1.1.1",
        "1.0.0.1",
        "9.9.9.9",
        "149.112.112.112",
        "208.67.222.222",
        "208.67.220.220",
        "64.6.64.6",
        "64.6.65.6",
        "8.26.56.26",
        "8.20.247.20",
        "4.2.2.1",
        "4.2.2.2",
        "76.76.19.19",
        "94.140.14.14",
        "2001:4860:4860::8888",
        "2001:4860:4860::8844",
        "2606:4700:4700::1111",
        "2606:4700:4700::1001",
    }
)
_DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "233.252.0.0/24")
)

_DIGIT_DOT = bytescan.table({1: "0123456789", 2: "."})
_HEX_FLAG, _COLON_FLAG = 1, 2
_HEX_COLON = bytescan.table({_HEX_FLAG: "0123456789abcdefABCDEF", _COLON_FLAG: ":"})
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,7}:|"
    r"(?:[0-9A-Fa-f]{1,4}:){1,6}(?::[0-9A-Fa-f]{1,4}){1,6}|::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{1,4})(?![\w:])"
)
_VERSION_CONTEXT = re.compile(r"(?i)(?:(?:version|release)[\w\s\"'=:<>-]{0,16}|(?:\bv|==|>=|<=|~=|\^)[\s\"'=:]{0,4})$")
_NETWORK_WORDS = re.compile(
    r"(?i)\b(?:ip|ips|ipv4|host|hosts|server|servers|addr|address|dns|gateway|proxy|"
    r"endpoint|connect|ping|nameserver|subnet|cidr|url)\b"
)
_DATE_LIKE = re.compile(r"^(?:\d{1,2}\.\d{1,2}\.(?:19|20)\d\d|(?:19|20)\d\d\.\d{1,2}\.\d{1,2})")


def find_emails(text: str) -> Iterator[Finding]:
    """Personal-looking email addresses."""
    position = text.find("@")
    while position != -1:
        if position == 0 or not (text[position - 1].isalnum() or text[position - 1] in "._%+-"):
            position = text.find("@", position + 1)  # decorators, `@` operators, handles
            continue
        window = _EMAIL.finditer(text, max(0, position - 64), min(len(text), position + 256))
        match = next((m for m in window if m.start(0) <= position < m.end(0)), None)
        if match:
            if _is_personal_email(text, match):
                yield Finding(match.start(0), match.end(0), EMAIL, "email")
            position = text.find("@", match.end(0))
        else:
            position = text.find("@", position + 1)


def _is_personal_email(text: str, match: re.Match) -> bool:
    local, domain, tld = match.group(1), match.group(2).lower(), match.group(3).lower()
    if tld in _FILE_SUFFIXES:
        return False
    if any(domain == d or domain.endswith("." + d) for d in _RESERVED_DOMAINS):
        return False
    if local.lower() == "git" and domain in _GIT_HOSTS and text[match.end(0) : match.end(0) + 1] == ":":
        return False
    return True


def _ipv4_windows(raw: bytes) -> Iterator[tuple[int, int]]:
    """Byte windows around three digit-dot-digit joints close together (a dotted quad's shape)."""
    if len(raw) < 7 or b"." not in raw:
        return
    kinds = np.frombuffer(raw.translate(_DIGIT_DOT), dtype=np.uint8)
    joints = np.flatnonzero((kinds[1:-1] == 2) & (kinds[:-2] == 1) & (kinds[2:] == 1)) + 1
    if joints.size < 3:
        return
    close = np.flatnonzero(joints[2:] - joints[:-2] <= 8)
    last_end = -1
    for index in close.tolist():
        start, end = max(0, int(joints[index]) - 4), int(joints[index + 2]) + 5
        if start >= last_end:
            yield start, end
            last_end = end


def _ipv6_windows(raw: bytes) -> Iterator[tuple[int, int]]:
    """Runs of hex digits and colons, 7+ long, with at least two colons."""
    if raw.count(b":") < 2:
        return
    flags = bytescan.classify(raw, _HEX_COLON)
    starts, ends = bytescan.runs(flags, 7)
    many_colons = bytescan.run_count(flags, starts, ends, _COLON_FLAG) >= 2
    yield from zip(starts[many_colons].tolist(), ends[many_colons].tolist())


def _is_personal_ip(address: str, text: str, start: int, end: int) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if not ip.is_global or address in DNS_SERVERS or any(ip in net for net in _DOCUMENTATION_NETWORKS):
        return False
    if ip.version == 4:
        line_start = text.rfind("\n", 0, start) + 1
        line = text[line_start : text.find("\n", end) if text.find("\n", end) != -1 else len(text)]
        octets = [int(part) for part in address.split(".")]
        if (octets[0] <= 2 or max(octets) <= 31) and not _NETWORK_WORDS.search(line):
            return False  # ASN.1 object identifiers (0.x, 1.x, 2.x), section and version numbers
        before = text[max(0, start - 20) : start]
        if _VERSION_CONTEXT.search(before) or _DATE_LIKE.match(address):
            return False
        if len(address) == 7:  # "1.2.3.4": a version unless the context talks about servers
            context = text[max(0, start - 100) : end + 100].lower()
            if "dns" not in context and "server" not in context:
                return False
    elif sum(1 for group in address.split(":") if group) < 3 or len(address) < 8:
        return False  # slices and scopes such as `a[1::2]`, `c10::`
    elif max(len(group) for group in address.split(":")) < 3:
        return False  # times and keys such as `12:30:45`, WordNet's `1:04:00::`
    return True


def find_ip_addresses(text: str, raw: bytes | None = None) -> Iterator[Finding]:
    """Public IPv4 and IPv6 addresses that could identify a machine or a person (`raw`: the
    text's UTF-8 bytes, if at hand)."""
    ascii_text = text.isascii()
    if raw is None:
        raw = text.encode("utf-8", "surrogatepass")
    for windows, pattern in ((_ipv4_windows, _IPV4), (_ipv6_windows, _IPV6)):
        for byte_start, byte_end in windows(raw):
            start, end = (byte_start, byte_end) if ascii_text else _char_span(raw, byte_start, byte_end)
            for match in pattern.finditer(text, max(0, start - 1), min(len(text), end + 3)):
                if _is_personal_ip(match.group(0), text, match.start(), match.end()):
                    yield Finding(match.start(), match.end(), IP_ADDRESS, f"ipv{4 if pattern is _IPV4 else 6}")


def _char_span(raw: bytes, byte_start: int, byte_end: int) -> tuple[int, int]:
    """Character offsets of a byte span of UTF-8 text."""
    prefix = raw[:byte_start].decode("utf-8", "replace")
    span = raw[byte_start:byte_end].decode("utf-8", "replace")
    return len(prefix), len(prefix) + len(span)
