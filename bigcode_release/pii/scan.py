"""Scan a text for PII and replace what is found with placeholders."""

from __future__ import annotations

from collections import Counter

from bigcode_release.pii.findings import EMAIL, IP_ADDRESS, KEY, PASSWORD, PLACEHOLDERS, Finding
from bigcode_release.pii.network import find_emails, find_ip_addresses
from bigcode_release.pii.secrets import find_secrets

# when spans overlap, the more specific kind wins
_PRECEDENCE = {KEY: 0, PASSWORD: 1, EMAIL: 2, IP_ADDRESS: 3}


def scan_text(text: str, *, emails: bool = True, ip_addresses: bool = True, secrets: bool = True) -> list[Finding]:
    """Non-overlapping PII findings in `text`, in order."""
    found: list[Finding] = []
    raw = text.encode("utf-8", "surrogatepass")
    if secrets:
        found += find_secrets(text, raw)
    if emails and "@" in text:
        found += find_emails(text)
    if ip_addresses:
        found += find_ip_addresses(text, raw)
    found.sort(key=lambda f: (_PRECEDENCE[f.kind], f.start, -f.end))
    chosen: list[Finding] = []
    for finding in found:
        if all(finding.end <= other.start or finding.start >= other.end for other in chosen):
            chosen.append(finding)
    return sorted(chosen)


def redact(text: str, findings: list[Finding]) -> tuple[str, Counter]:
    """`text` with each finding replaced by its placeholder, and the count per kind."""
    pieces, position, counts = [], 0, Counter()
    for finding in findings:
        pieces.append(text[position : finding.start])
        pieces.append(PLACEHOLDERS[finding.kind])
        position = finding.end
        counts[finding.kind] += 1
    pieces.append(text[position:])
    return "".join(pieces), counts
