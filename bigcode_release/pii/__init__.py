"""Personal information and secrets in code: find them, and replace them with placeholders."""

from bigcode_release.pii.findings import PLACEHOLDERS, Finding
from bigcode_release.pii.scan import redact, scan_text

__all__ = ["PLACEHOLDERS", "Finding", "redact", "scan_text"]
