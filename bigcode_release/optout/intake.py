"""Where the "Am I in The Stack?" Space files opt-out requests and reads their status: the
maintainer's SQLite registry (served from a checkout), or a private dataset repository on the Hub
(the published Space, whose own disk is wiped at every restart).

On the Hub, a request is acknowledged only once the commit that adds `requests/<id>.json` has
landed; a commit the Hub refuses or never answers raises `OptOutIntakeError` and nothing is filed.
The maintainer imports requests with `bigcode-release optout pull` and writes decisions back with
`optout push-status` (`optout/hub_sync.py`).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Protocol

import httpx
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError

from bigcode_release.errors import OptOutIntakeError, RegistryError
from bigcode_release.layout import ReleaseLayout
from bigcode_release.optout.receipts import read_receipt
from bigcode_release.optout.registry import OptOutRegistry, new_request_id, validate_request
from bigcode_release.optout.request_record import (
    RequestRecord,
    StatusRecord,
    account_folder,
    client_hash,
    normalize_request_id,
)

try:  # huggingface_hub 2.x calls the Hub through httpx2, whose errors are not httpx's
    import httpx2

    HUB_ERRORS: tuple[type[Exception], ...] = (HfHubHTTPError, httpx.HTTPError, httpx2.HTTPError, OSError)
except ImportError:  # huggingface_hub 1.x
    HUB_ERRORS = (HfHubHTTPError, httpx.HTTPError, OSError)
try:  # only "the Hub says there is no such file": an unreachable Hub is an error, not an absence
    from huggingface_hub.errors import RemoteEntryNotFoundError as MissingOnHub
except ImportError:
    from huggingface_hub.errors import EntryNotFoundError as MissingOnHub


class RequestIntake(Protocol):
    """Files requests and reports their status."""

    where: str

    def file(
        self, username: str, repos: list[str], proof: str | None, message: str | None, client: str | None
    ) -> StatusRecord: ...

    def status(self, request_id: str) -> StatusRecord: ...

    def requests_for(self, username: str) -> list[StatusRecord]: ...


def _unknown(request_id: str) -> RegistryError:
    return RegistryError(f"no request {request_id!r} was filed here; request ids look like req-0123456789ab")


class RegistryIntake:
    """Requests in the maintainer's registry, receipts read from the release directory."""

    def __init__(self, registry_path: str | Path, release_dir: str | Path):
        self.registry = OptOutRegistry(registry_path)
        self.layout = ReleaseLayout.at(release_dir)
        self.where = "this machine's registry"
        self._lock = threading.Lock()  # one SQLite connection, shared by the Space's worker threads

    def file(self, username, repos, proof, message, client) -> StatusRecord:
        with self._lock:
            request = self.registry.submit(username, repos, proof=proof, message=message, client=client)
            return self._status(request.id)

    def status(self, request_id: str) -> StatusRecord:
        found = normalize_request_id(request_id)
        if found is None:
            raise _unknown(request_id)
        try:
            with self._lock:
                return self._status(found)
        except RegistryError:
            raise _unknown(found) from None

    def requests_for(self, username: str) -> list[StatusRecord]:
        """Every request of an account, oldest first."""
        with self._lock:
            return [self._status(request.id) for request in self.registry.requests(username=username)]

    def _status(self, request_id: str) -> StatusRecord:
        request, events = self.registry.get(request_id), self.registry.history(request_id)
        return StatusRecord.of(request, events, read_receipt(self.layout, request_id))


class HubIntake:
    """Requests as files of a private dataset repository: one commit per request."""

    def __init__(self, repo_id: str, token: str | None, endpoint: str | None = None):
        self.repo_id = repo_id
        self.token = token
        self.api = HfApi(endpoint=endpoint, token=token)
        self.where = f"the Hub dataset {repo_id}"

    def _require_token(self) -> None:
        """A Space without its secret still starts and answers look-ups; requests are refused, saying why."""
        if not self.token:
            raise OptOutIntakeError(
                "requests cannot be filed or followed here right now: this Space has no HF_TOKEN secret "
                "(maintainers: set it in the Space's settings); nothing was filed"
            )

    def file(self, username, repos, proof, message, client) -> StatusRecord:
        self._require_token()
        username, repos = validate_request(username, repos, proof, message)
        record = RequestRecord(
            new_request_id(), username, tuple(repos), proof, message, time.time(), client_hash(client)
        )
        scope = "the whole account" if not repos else f"{len(repos)} repositories"
        try:
            self.api.create_commit(
                self.repo_id,
                repo_type="dataset",
                operations=[
                    CommitOperationAdd(path_in_repo=record.path, path_or_fileobj=record.to_bytes()),
                    CommitOperationAdd(path_in_repo=record.account_marker, path_or_fileobj=b""),
                ],
                commit_message=f"Opt-out request {record.id} ({record.username}, {scope})",
            )
        except HUB_ERRORS as exc:
            raise OptOutIntakeError(
                f"your request could not be stored ({_reason(exc)}); it was NOT filed. Please try again in a moment."
            ) from None
        return StatusRecord.pending(record)

    def status(self, request_id: str) -> StatusRecord:
        self._require_token()
        found = normalize_request_id(request_id)
        if found is None:
            raise _unknown(request_id)
        try:
            shown = self._status(found)
        except HUB_ERRORS as exc:
            raise OptOutIntakeError(f"the status cannot be read right now ({_reason(exc)}); try again") from None
        if shown is None:
            raise _unknown(found)
        return shown

    def requests_for(self, username: str) -> list[StatusRecord]:
        """Every request filed here for an account (found by its markers), oldest first."""
        self._require_token()
        folder = account_folder(username)
        try:
            try:
                entries = self.api.list_repo_tree(self.repo_id, repo_type="dataset", path_in_repo=folder)
                ids = sorted({Path(e.path).name for e in entries if normalize_request_id(Path(e.path).name)})
            except HfHubHTTPError as exc:
                if exc.response is None or exc.response.status_code != 404:
                    raise
                ids = []  # no request for this account: its folder does not exist
            found = [self._status(request_id) for request_id in ids]
        except HUB_ERRORS as exc:
            raise OptOutIntakeError(f"this account's requests cannot be read right now ({_reason(exc)})") from None
        shown = [status for status in found if status is not None]
        return sorted(shown, key=lambda s: s.events[0]["at"] if s.events else 0.0)

    def _status(self, request_id: str) -> StatusRecord | None:
        """The published status of a request, else its pending status as filed, else None."""
        status = self._read(f"status/{request_id}.json")
        if status is not None:
            return StatusRecord.from_bytes(status, f"{self.repo_id}/status/{request_id}.json")
        request = self._read(f"requests/{request_id}.json")
        if request is None:
            return None
        return StatusRecord.pending(RequestRecord.from_bytes(request, f"{self.repo_id}/requests/{request_id}.json"))

    def _read(self, path: str) -> bytes | None:
        try:
            local = self.api.hf_hub_download(self.repo_id, path, repo_type="dataset")
        except MissingOnHub:
            return None
        return Path(local).read_bytes()


def _reason(exc: Exception) -> str:
    """A short, token-free reason for people."""
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "status_code", None):
        return f"the Hub answered HTTP {response.status_code}"
    return f"the Hub could not be reached: {type(exc).__name__}"
