"""The files an opt-out intake repository on the Hub holds, one per request and one per status:

- `requests/<id>.json`: the request as filed through the published Space (written once, by the Space);
- `status/<id>.json`: its status and history as the maintainer's registry knows them (written by
  `bigcode-release optout push-status`), which the Space shows;
- `accounts/<lowercased username>/<id>`: an empty file, written in the request's commit, so the Space
  finds an account's requests (to mention them in a lookup, and to answer a duplicate with the
  request already filed) with one listing instead of reading every request.

The requester's address is never stored: only a salted hash of it (`client`), enough to see that
many requests came from one place.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

from bigcode_release.errors import OptOutRecordError

REQUEST_FORMAT = "bigcode-release/optout-request"
STATUS_FORMAT = "bigcode-release/optout-status"
FORMAT_VERSION = 1
REQUEST_ID = re.compile(r"^req-[0-9a-f]{12}$")
CLIENT_SALT = b"bigcode-release optout intake"


def normalize_request_id(text: str) -> str | None:
    """The request id in `text` (any case, surrounding spaces), or None when it cannot be one."""
    candidate = text.strip().lower() if isinstance(text, str) else ""
    return candidate if REQUEST_ID.match(candidate) else None


def account_folder(username: str) -> str:
    """The intake folder of an account's request markers (GitHub names are case-insensitive)."""
    return f"accounts/{username.lower()}"


def client_hash(client: str | None) -> str | None:
    return hashlib.sha256(CLIENT_SALT + client.encode()).hexdigest()[:16] if client else None


@dataclass(frozen=True)
class RequestRecord:
    """A request as filed: what the registry imports."""

    id: str
    username: str
    repos: tuple[str, ...]
    proof: str | None
    message: str | None
    submitted_at: float
    client: str | None = None

    @property
    def path(self) -> str:
        return f"requests/{self.id}.json"

    @property
    def account_marker(self) -> str:
        return account_folder(self.username) + f"/{self.id}"

    @property
    def scope(self) -> str:
        return "repos" if self.repos else "account"

    def to_bytes(self) -> bytes:
        body = {"format": REQUEST_FORMAT, "format_version": FORMAT_VERSION, **asdict(self), "repos": list(self.repos)}
        return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, origin: str) -> RequestRecord:
        """Raises OptOutRecordError naming `origin` when the file is not a request record."""
        body = _load(data, origin, REQUEST_FORMAT)
        try:
            record = cls(
                id=body["id"],
                username=body["username"],
                repos=tuple(body["repos"]),
                proof=body.get("proof"),
                message=body.get("message"),
                submitted_at=float(body["submitted_at"]),
                client=body.get("client"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise OptOutRecordError(f"{origin}: not a complete opt-out request ({type(exc).__name__}: {exc})") from None
        if not REQUEST_ID.match(str(record.id)) or origin.rsplit("/", 1)[-1] != f"{record.id}.json":
            raise OptOutRecordError(f"{origin}: its id {record.id!r} is not req-<12 hex digits> or not its file name")
        return record


@dataclass(frozen=True)
class StatusRecord:
    """A request's status as a requester may see it: no maintainer names, no addresses."""

    id: str
    username: str
    scope: str
    repos: tuple[str, ...]
    status: str
    first_version: str | None = None
    receipt: str | None = None  # the removal receipt's one-line summary
    events: tuple[dict, ...] = field(default_factory=tuple)  # {"kind", "at", ["reason"]}

    @property
    def path(self) -> str:
        return f"status/{self.id}.json"

    def to_bytes(self) -> bytes:
        body = {
            "format": STATUS_FORMAT,
            "format_version": FORMAT_VERSION,
            **asdict(self),
            "repos": list(self.repos),
            "events": list(self.events),
        }
        return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, origin: str) -> StatusRecord:
        body = _load(data, origin, STATUS_FORMAT)
        try:
            return cls(
                id=body["id"],
                username=body["username"],
                scope=body["scope"],
                repos=tuple(body["repos"]),
                status=body["status"],
                first_version=body.get("first_version"),
                receipt=body.get("receipt"),
                events=tuple(body.get("events", ())),
            )
        except (KeyError, TypeError) as exc:
            raise OptOutRecordError(f"{origin}: not a complete opt-out status ({type(exc).__name__}: {exc})") from None

    @classmethod
    def pending(cls, record: RequestRecord) -> StatusRecord:
        """What a request filed but not yet seen by a maintainer shows."""
        return cls(
            record.id,
            record.username,
            record.scope,
            record.repos,
            "pending",
            events=({"kind": "submitted", "at": record.submitted_at},),
        )

    @classmethod
    def of(cls, request, events: list, receipt: dict | None) -> StatusRecord:
        """From the registry's `Request` and its `Event`s, with the receipt of its removal if any."""
        from bigcode_release.optout.receipts import Receipt

        return cls(
            request.id,
            request.username,
            request.scope,
            tuple(request.repos),
            request.status,
            request.first_version,
            Receipt.from_dict(receipt).summary() if receipt else None,
            tuple(
                {"kind": e.kind, "at": e.at, **({"reason": e.detail["reason"]} if "reason" in e.detail else {})}
                for e in events
            ),
        )


def _load(data: bytes, origin: str, expected_format: str) -> dict:
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OptOutRecordError(f"{origin}: not JSON ({exc})") from None
    if not isinstance(body, dict) or body.get("format") != expected_format:
        raise OptOutRecordError(f"{origin}: not a {expected_format} file")
    if body.get("format_version") != FORMAT_VERSION:
        raise OptOutRecordError(
            f"{origin}: format_version {body.get('format_version')!r}; this toolkit reads version {FORMAT_VERSION}"
        )
    return body
