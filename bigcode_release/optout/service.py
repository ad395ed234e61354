"""What the "Am I in The Stack?" Space does, as plain functions that never raise: every failure
becomes a readable message. The Space's `app.py` only wires widgets to these."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from pathlib import Path

from bigcode_release.errors import BigcodeReleaseError
from bigcode_release.layout import ReleaseLayout
from bigcode_release.markdown import error, escape
from bigcode_release.optout.intake import HubIntake, RegistryIntake, RequestIntake
from bigcode_release.optout.lookup import RepoLookup
from bigcode_release.optout.mask import OptOutMask
from bigcode_release.optout.registry import already_requested, validate_request
from bigcode_release.optout.request_record import StatusRecord

TABLE_HEADERS = ["repository", "included", "why not, or files left out", "files kept", "license"]
MAX_FIELD_CHARS = 10_000  # anything longer is refused before it is parsed
REQUEST_READS_PER_MINUTE = 30


class RateLimiter:
    """At most `limit` events per `window` seconds per client (sliding window, thread-safe)."""

    def __init__(self, limit: int, window: float):
        self.limit, self.window = limit, window
        self._events: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        """Reserve one event for `client`, or False when its window is full (see `refund`)."""
        now = time.monotonic()
        with self._lock:
            events = self._events[client]
            while events and now - events[0] > self.window:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True

    def refund(self, client: str) -> None:
        """Give back the newest reservation of `client`: a refused submission does not count."""
        with self._lock:
            if self._events[client]:
                self._events[client].pop()


class InTheStackService:
    """Look-ups over a release's dataset versions, and opt-out requests filed where `intake` keeps
    them: a registry on this machine, or the Hub for a published Space (`intake_for`)."""

    def __init__(self, release_dir: str | Path, intake: RequestIntake, *, submissions_per_minute: int = 5):
        self.layout = ReleaseLayout.at(release_dir)
        self.lookups = RepoLookup(release_dir)
        self.intake = intake
        self.limiter = RateLimiter(submissions_per_minute, 60.0)
        # a lookup also reads the account's requests (Hub calls in a published Space): at most this often
        self.request_reads = RateLimiter(REQUEST_READS_PER_MINUTE, 60.0)
        self._lock = threading.Lock()  # one DuckDB connection, shared by the Space's worker threads
        self._account_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)

    def versions(self) -> list[str]:
        return list(self.lookups.versions)

    def check(self, username: str, version: str | None, client: str = "unknown") -> tuple[str, list[list], list[str]]:
        """(answer in Markdown, table rows, repositories of the account that can be opted out) for
        one version (the newest when none is given), with the account's requests: their status and
        scope, never their ids (an id is the key to a request's history)."""
        if not isinstance(username, str) or len(username) > MAX_FIELD_CHARS:
            return "**Error:** give a GitHub username.", [], []
        username = account_name(username)
        try:
            with self._lock:
                answers = self.lookups.lookup(username, version or self.versions()[-1])
        except BigcodeReleaseError as exc:
            return error(exc), [], []
        answer = answers[0]
        rows = [
            [
                r["repo_name"],
                "yes" if r["included"] else "no",
                answer.why(r),
                f"{r['kept_files']:,}/{r['files']:,}",
                r["license"] or "",
            ]
            for r in answer.repos
        ]
        if answer.included:
            text = (
                f"**{username}** has **{len(answer.included)}** of {_repositories(len(answer.repos))} in "
                f"**{answer.version}**."
            )
        elif answer.repos:
            text = (
                f"**{username}** is **not** in {answer.version}: {_repositories(len(answer.repos))} seen "
                "and none included (see why below)."
            )
        else:
            text = f"**{username}** is **not** in {answer.version}: no repository of this account was seen."
        if answer.version != self.versions()[-1]:
            mask = OptOutMask.for_version(self.layout.root, answer.version)
            since = sorted({mask.hides(r["repo_name"], "") for r in answer.included} - {None})
            if since:
                text += (
                    f" This account opted out after {answer.version} was built ({', '.join(since)}): its code is "
                    f"removed from {mask.newest} and hidden from searches of {answer.version}."
                )
        return text + self._requests_note(username, client), rows, [r["repo_name"] for r in answer.included]

    def _requests_note(self, username: str, client: str) -> str:
        """What the lookup says about the account's opt-out requests (nothing when there are none)."""
        if not self.request_reads.allow(client or "unknown"):
            return "\n\n(Opt-out requests are not shown: too many look-ups from you in the last minute.)"
        try:
            requests = self.intake.requests_for(username)
        except BigcodeReleaseError:
            return "\n\nThis account's opt-out requests cannot be read right now."
        if not requests:
            return ""
        described = "; ".join(_describe(r, with_id=False) for r in requests)
        return f"\n\nOpt-out requests for this account: {described}."

    def submit(
        self, username: str, whole_account: bool, repos: list[str] | None, proof: str, message: str, client: str
    ) -> str:
        """File a request; the answer gives its id and status, or says what is wrong. A request an
        open one already covers is answered with that one's id and not filed again."""
        for name, value in (("username", username), ("proof", proof), ("message", message)):
            if value is not None and (not isinstance(value, str) or len(value) > MAX_FIELD_CHARS):
                return f"**Error:** {name} is too long."
        client = client or "unknown"
        if not self.limiter.allow(client):
            return "**Error:** too many requests from you in the last minute; try again shortly."
        if not whole_account and not repos:
            self.limiter.refund(client)
            return "**Error:** tick the repositories to remove, or choose the whole account."
        proof, message = (proof or "").strip() or None, (message or "").strip() or None
        try:
            username, wanted = validate_request(
                account_name(username or ""), [] if whole_account else repos, proof, message
            )
            with self._account_lock(username):  # one check-then-file at a time per account
                covering, remaining = already_requested(self.intake.requests_for(username), wanted)
                if covering and (whole_account or not remaining):
                    self.limiter.refund(client)  # nothing new was filed: it does not count
                    return (
                        "Already requested: " + "; ".join(_describe(r) for r in covering) + ". Nothing new was filed."
                    )
                filed = self.intake.file(username, remaining if covering else wanted, proof, message, client)
        except BigcodeReleaseError as exc:  # on the Hub: only once the request's commit has landed
            self.limiter.refund(client)  # only accepted submissions count against the limit
            return error(exc)
        scope = "the whole account" if filed.scope == "account" else ", ".join(filed.repos)
        answer = (
            f"Request **{filed.id}** filed for {scope}: **{filed.status}**. Keep the id to follow it; "
            "approved requests are removed from the next dataset version."
        )
        if covering:
            answer += " Already requested before: " + "; ".join(_describe(r) for r in covering) + "."
        return answer

    def _account_lock(self, username: str) -> threading.Lock:
        with self._lock:
            return self._account_locks[username.lower()]

    def status(self, request_id: str) -> str:
        """A request's status and history, in Markdown."""
        if not isinstance(request_id, str) or not request_id.strip() or len(request_id) > 64:
            return "**Error:** give a request id such as `req-0123456789ab`."
        try:
            shown = self.intake.status(request_id)
        except BigcodeReleaseError as exc:
            return error(exc)
        lines = [f"Request **{shown.id}** ({shown.username}): **{shown.status}**"]
        if shown.receipt is not None:
            lines.append(shown.receipt[0].upper() + shown.receipt[1:])
        elif shown.first_version:
            lines.append(f"First dataset version without it: **{shown.first_version}**")
        lines += [
            f"- {_day_and_time(e['at'])} UTC: {e['kind']}" + (f" ({escape(e['reason'])})" if "reason" in e else "")
            for e in shown.events
        ]
        return "\n".join(lines)


def _describe(request: StatusRecord, with_id: bool = True) -> str:
    """One request in a sentence: (id,) status, what it asks for, when it was filed."""
    scope = "the whole account" if request.scope == "account" else ", ".join(request.repos)
    filed = f", filed {_day_and_time(request.events[0]['at'])[:10]}" if request.events else ""
    done = f", removed from {request.first_version}" if request.first_version else ""
    return f"{f'**{request.id}** ' if with_id else ''}{request.status} ({scope}{filed}{done})"


def _day_and_time(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(at))


def account_name(text: str) -> str:
    """The account a person typed, as GitHub names it: without a leading `@` or a profile URL
    (`@pallets`, `github.com/pallets`, `https://github.com/pallets/` all mean `pallets`)."""
    name = text.strip()
    for prefix in ("https://", "http://", "www.", "github.com/"):
        if name.lower().startswith(prefix):
            name = name[len(prefix) :]
    return name.removeprefix("@").strip("/")


def _repositories(count: int) -> str:
    return f"{count:,} repositor{'y' if count == 1 else 'ies'}"


def client_address(request) -> str:
    """The requester's address from a web request (`gr.Request`): behind the Hub's proxy, the first
    `X-Forwarded-For` entry (the connection itself comes from the proxy), else the connection's."""
    headers = getattr(request, "headers", None) or {}
    forwarded = headers.get("x-forwarded-for", "") if hasattr(headers, "get") else ""
    host = getattr(getattr(request, "client", None), "host", None)
    return forwarded.split(",")[0].strip() or host or "unknown"


def intake_for(
    release_dir: str | Path,
    registry_path: str | Path | None = None,
    requests_repo: str | None = None,
    token: str | None = None,
) -> RequestIntake:
    """The Hub dataset `requests_repo` when one is named (a published Space), else the registry
    (`<release>/optout.sqlite` unless given)."""
    if requests_repo:
        return HubIntake(requests_repo, token)
    return RegistryIntake(registry_path or ReleaseLayout.at(release_dir).registry, release_dir)
