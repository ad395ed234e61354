"""What a PII scan reports: a kind and a span, never the value itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass

EMAIL, IP_ADDRESS, KEY, PASSWORD = "EMAIL", "IP_ADDRESS", "KEY", "PASSWORD"
PLACEHOLDERS = {kind: f"<{kind}>" for kind in (EMAIL, IP_ADDRESS, KEY, PASSWORD)}


@dataclass(frozen=True, order=True)
class Finding:
    """One piece of PII in a text: characters `[start, end)`, its kind, and which detector said so."""

    start: int
    end: int
    kind: str
    detector: str

    def to_dict(self) -> dict:
        return asdict(self)
