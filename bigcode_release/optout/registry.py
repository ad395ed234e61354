"""The opt-out registry: one SQLite file (WAL), requests and an append-only log of events.

A request is written once and never changed; everything that happens to it (submitted, approved,
rejected, applied in a dataset version) is an event appended in the same transaction that checks
it is allowed. Triggers refuse UPDATE and DELETE on both tables, so the history is the truth and
the status is derived from it. The schema is versioned (`PRAGMA user_version`) and migrated
forward on open.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bigcode_release.errors import OptOutRequestError, RegistryError
from bigcode_release.optout.export_format import OptOutEntry
from bigcode_release.optout.identity import check_repo, check_username
from bigcode_release.optout.proof import ProofCheck, is_issue_url
from bigcode_release.optout.request_record import RequestRecord

MAX_REPOS = 1000
MAX_MESSAGE_CHARS = 2000
MAX_PROOF_CHARS = 500

OPEN_STATUSES = ("pending", "approved", "applied")  # a request that still asks for (or has had) removal
STATUS_OF_EVENT = {"submitted": "pending", "approved": "approved", "rejected": "rejected", "applied": "applied"}
# which event may follow the current status
ALLOWED = {"pending": {"approved", "rejected"}, "approved": {"applied"}, "applied": {"applied"}, "rejected": set()}

MIGRATIONS = [
    """
    CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        username_key TEXT NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('account', 'repos')),
        repos TEXT NOT NULL,
        proof TEXT,
        message TEXT,
        client TEXT,
        submitted_at REAL NOT NULL
    );
    CREATE INDEX requests_by_user ON requests (username_key);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id TEXT NOT NULL REFERENCES requests (id),
        kind TEXT NOT NULL CHECK (kind IN ('submitted', 'approved', 'rejected', 'applied')),
        actor TEXT NOT NULL,
        at REAL NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_by_request ON events (request_id, seq);
    CREATE TRIGGER requests_append_only_update BEFORE UPDATE ON requests
        BEGIN SELECT RAISE(ABORT, 'requests are append-only'); END;
    CREATE TRIGGER requests_append_only_delete BEFORE DELETE ON requests
        BEGIN SELECT RAISE(ABORT, 'requests are append-only'); END;
    CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    """,
]


@dataclass(frozen=True)
class Event:
    kind: str
    actor: str
    at: float
    detail: dict


@dataclass(frozen=True)
class Request:
    """A request with its derived state."""

    id: str
    username: str
    scope: str  # "account" or "repos"
    repos: tuple[str, ...]
    proof: str | None
    message: str | None
    submitted_at: float
    status: str
    decided_by: str | None
    decided_at: float | None
    first_version: str | None

    def to_dict(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in self.__dict__.items()}

    def entries(self) -> list[OptOutEntry]:
        """What the dataset build removes for this request."""
        if self.scope == "account":
            return [OptOutEntry(owner=self.username, request_id=self.id)]
        return [OptOutEntry(owner=self.username, request_id=self.id, repo=repo) for repo in self.repos]


class OptOutRegistry:
    """Opt-out requests in one SQLite file; safe for several processes (WAL, immediate writes)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> OptOutRegistry:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self.schema_version
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def submit(
        self,
        username: str,
        repos: list[str] | None = None,
        *,
        proof: str | None = None,
        message: str | None = None,
        client: str | None = None,
        auto_approve: Callable[[str, str], ProofCheck] | None = None,
    ) -> Request:
        """Record a request (pending). The whole account when `repos` is empty.

        With `auto_approve` (a proof checker, see `proof.check_proof`) a request whose proof is
        verified is approved at once by `auto:proof`; the check's outcome is kept in the
        `submitted` event either way.

        Raises:
            OptOutRequestError: a bad username, a repository of another owner, an input too large.
        """
        username, repos = validate_request(username, repos, proof, message)
        check = auto_approve(proof, username) if auto_approve and proof else None
        request_id = new_request_id()
        now = time.time()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT INTO requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request_id,
                    username,
                    username.lower(),
                    "repos" if repos else "account",
                    json.dumps(repos),
                    proof or None,
                    message or None,
                    client,
                    now,
                ),
            )
            self._append(request_id, "submitted", username, now, {"proof_check": check.to_dict()} if check else {})
            if check is not None and check.outcome == "verified":
                self._append(request_id, "approved", "auto:proof", now, {"proof_check": check.to_dict()})
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return self.get(request_id)

    def import_request(self, record: RequestRecord, source: str) -> bool:
        """Add a request filed elsewhere (a published Space's intake repository) under its own id and
        time, pending; False when the registry has it already, so importing twice adds nothing.

        Raises:
            OptOutRequestError: the record's fields break the rules a submission here obeys.
        """
        username, repos = validate_request(record.username, list(record.repos), record.proof, record.message)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if self._db.execute("SELECT 1 FROM requests WHERE id = ?", (record.id,)).fetchone():
                self._db.execute("COMMIT")
                return False
            self._db.execute(
                "INSERT INTO requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    username,
                    username.lower(),
                    "repos" if repos else "account",
                    json.dumps(repos),
                    record.proof,
                    record.message,
                    record.client,
                    record.submitted_at,
                ),
            )
            self._append(record.id, "submitted", username, record.submitted_at, {"via": source})
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return True

    def _append(self, request_id: str, kind: str, actor: str, at: float, detail: dict) -> None:
        self._db.execute(
            "INSERT INTO events (request_id, kind, actor, at, detail) VALUES (?, ?, ?, ?, ?)",
            (request_id, kind, actor, at, json.dumps(detail, sort_keys=True)),
        )

    def _decide(self, request_id: str, kind: str, actor: str, detail: dict) -> Request:
        if not actor or not actor.strip():
            raise RegistryError(f"{kind}: say who decides (a maintainer's name)")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            status = self._status(request_id)
            if kind not in ALLOWED[status]:
                raise RegistryError(f"request {request_id} is {status}; it cannot be {kind} now")
            if kind == "applied" and status == "applied":
                self._db.execute("COMMIT")  # the first version that honours it is what counts
                return self.get(request_id)
            self._append(request_id, kind, actor, time.time(), detail)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return self.get(request_id)

    def approve(self, request_id: str, by: str) -> Request:
        """A maintainer approves a pending request."""
        return self._decide(request_id, "approved", by, {})

    def reject(self, request_id: str, by: str, reason: str) -> Request:
        """A maintainer rejects a pending request, saying why."""
        if not reason or not reason.strip():
            raise RegistryError("reject: give a reason (the requester sees it)")
        return self._decide(request_id, "rejected", by, {"reason": reason})

    def mark_applied(
        self, request_id: str, dataset_version: str, by: str = "dataset build", detail: dict | None = None
    ) -> Request:
        """Record the first dataset version that honours an approved request (with `detail`, e.g.
        the summary of its removal receipt)."""
        return self._decide(request_id, "applied", by, {"dataset_version": dataset_version, **(detail or {})})

    def _status(self, request_id: str) -> str:
        row = self._db.execute(
            "SELECT kind FROM events WHERE request_id = ? ORDER BY seq DESC LIMIT 1", (request_id,)
        ).fetchone()
        if row is None:
            raise RegistryError(f"no request {request_id!r} in {self.path}")
        return STATUS_OF_EVENT[row[0]]

    def history(self, request_id: str) -> list[Event]:
        """Every event of a request, oldest first."""
        rows = self._db.execute(
            "SELECT kind, actor, at, detail FROM events WHERE request_id = ? ORDER BY seq", (request_id,)
        ).fetchall()
        if not rows:
            raise RegistryError(f"no request {request_id!r} in {self.path}")
        return [Event(kind, actor, at, json.loads(detail)) for kind, actor, at, detail in rows]

    def get(self, request_id: str) -> Request:
        row = self._db.execute(
            "SELECT id, username, scope, repos, proof, message, submitted_at FROM requests WHERE id = ?", (request_id,)
        ).fetchone()
        if row is None:
            raise RegistryError(f"no request {request_id!r} in {self.path}")
        return self._request(row)

    def _request(self, row: tuple) -> Request:
        request_id, username, scope, repos, proof, message, submitted_at = row
        events = self.history(request_id)
        decision = next((e for e in reversed(events) if e.kind in ("approved", "rejected")), None)
        applied = next((e for e in events if e.kind == "applied"), None)
        return Request(
            request_id,
            username,
            scope,
            tuple(json.loads(repos)),
            proof,
            message,
            submitted_at,
            STATUS_OF_EVENT[events[-1].kind],
            decision.actor if decision else None,
            decision.at if decision else None,
            applied.detail["dataset_version"] if applied else None,
        )

    def requests(self, status: str | None = None, username: str | None = None) -> list[Request]:
        """Requests in submission order, optionally of one status or one account."""
        query, params = "SELECT id, username, scope, repos, proof, message, submitted_at FROM requests", []
        if username is not None:
            query, params = query + " WHERE username_key = ?", [username.lower()]
        rows = self._db.execute(query + " ORDER BY submitted_at, id", params).fetchall()
        found = [self._request(row) for row in rows]
        return [r for r in found if status is None or r.status == status]

    def integrity_check(self) -> str:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]


def validate_request(
    username: str, repos: list[str] | None, proof: str | None, message: str | None
) -> tuple[str, list[str]]:
    """The checked username and its repositories (sorted, deduplicated), or the reason a request is
    refused: the rules every request obeys, wherever it is filed.

    Raises:
        OptOutRequestError: a bad username, a repository of another owner, an input too large.
    """
    username = check_username(username)
    repos = list(repos or [])
    if len(repos) > MAX_REPOS:
        raise OptOutRequestError(f"repos: {len(repos)} given, at most {MAX_REPOS} per request")
    repos = sorted({check_repo(repo, username) for repo in repos}, key=str.lower)
    for name, value, limit in (("proof", proof, MAX_PROOF_CHARS), ("message", message, MAX_MESSAGE_CHARS)):
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise OptOutRequestError(f"{name}: at most {limit} characters of text")
    if proof and not is_issue_url(proof):  # shown to reviewers as text, never as a link
        raise OptOutRequestError(
            "proof: give the URL of a GitHub issue you opened, https://github.com/<owner>/<repo>/issues/<number>"
        )
    return username, repos


def already_requested(requests: list, repos: list[str]) -> tuple[list, list[str]]:
    """For a new request of an account (the whole account when `repos` is empty) and the account's
    earlier requests (registry `Request`s or `StatusRecord`s): (the open ones, pending, approved or
    applied, that already ask for it; the repositories none of them asks for). A whole-account
    request covers everything; a whole-account request is covered only by another."""
    open_requests = [r for r in requests if r.status in OPEN_STATUSES]
    accounts = [r for r in open_requests if r.scope == "account"]
    if accounts or not repos:
        return accounts, []
    wanted = {repo.lower() for repo in repos}
    covering = [r for r in open_requests if wanted & {repo.lower() for repo in r.repos}]
    asked = {repo.lower() for r in covering for repo in r.repos}
    return covering, [repo for repo in repos if repo.lower() not in asked]


def new_request_id() -> str:
    return f"req-{secrets.token_hex(6)}"


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (trigger bodies keep their inner `;`)."""
    statements, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        joined = "\n".join(current).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            statements.append(joined)
            current = []
    return statements
