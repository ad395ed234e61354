"""The maintainer's side of a published Space's intake repository: import the requests filed there
into the SQLite registry (each once, however often it is pulled), and write each one's status back
so the Space shows it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from bigcode_release.errors import BigcodeReleaseError, OptOutIntakeError
from bigcode_release.layout import ReleaseLayout
from bigcode_release.optout.receipts import read_receipt
from bigcode_release.optout.registry import OptOutRegistry
from bigcode_release.optout.request_record import RequestRecord, StatusRecord

INTAKE_README = """---
license: other
pretty_name: Opt-out requests
tags: [bigcode-release, opt-out]
---

# Opt-out requests (private)

Requests filed through the "Am I in The Stack?" Space, one file each (`requests/<id>.json`, written
by the Space before it acknowledges the request), and their status as the maintainers' registry
knows it (`status/<id>.json`, written by `bigcode-release optout push-status`), and one empty file per
request under `accounts/<username>/`, so the Space finds an account's requests (to name them in a
look-up and to answer a duplicate with the request already filed). Keep this repository private: it
holds usernames and messages. Requesters' addresses are never stored, only a salted hash.
"""


@dataclass
class PullResult:
    repo_id: str
    revision: str
    imported: list[str] = field(default_factory=list)
    already_present: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # path -> why (a file that is not a request)

    def to_dict(self) -> dict:
        return {**self.__dict__, "imported_count": len(self.imported)}


@dataclass
class PushStatusResult:
    repo_id: str
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    commit: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _head(api: HfApi, repo_id: str) -> str:
    try:
        return api.repo_info(repo_id, repo_type="dataset").sha
    except RepositoryNotFoundError:
        raise OptOutIntakeError(f"{repo_id}: no such dataset repository, or this token cannot read it") from None


def _folder(api: HfApi, repo_id: str, folder: str, revision: str) -> dict[str, str]:
    """path -> git blob id of each JSON file in one folder of the intake repository."""
    try:
        entries = api.list_repo_tree(repo_id, repo_type="dataset", path_in_repo=folder, revision=revision)
        return {e.path: e.blob_id for e in entries if e.path.endswith(".json") and hasattr(e, "blob_id")}
    except RepositoryNotFoundError:
        raise OptOutIntakeError(f"{repo_id}: no such dataset repository, or this token cannot read it") from None
    except HfHubHTTPError as exc:
        if exc.response is not None and exc.response.status_code == 404:
            return {}  # nothing written there yet: the folder does not exist
        raise


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def pull_requests(registry: OptOutRegistry, api: HfApi, repo_id: str) -> PullResult:
    """Import every request of the intake repository the registry does not have yet (pending, under
    its own id). A file that is not a valid request is skipped, counted and named, never imported."""
    revision = _head(api, repo_id)
    result = PullResult(repo_id, revision)
    known = {r.id for r in registry.requests()}
    for path in sorted(_folder(api, repo_id, "requests", revision)):
        if Path(path).stem in known:
            result.already_present += 1
            continue
        local = api.hf_hub_download(repo_id, path, repo_type="dataset", revision=revision)
        try:
            record = RequestRecord.from_bytes(Path(local).read_bytes(), f"{repo_id}/{path}")
            if registry.import_request(record, source=f"hf://datasets/{repo_id}"):
                result.imported.append(record.id)
            else:
                result.already_present += 1
        except BigcodeReleaseError as exc:
            result.skipped[path] = str(exc)
    return result


def push_statuses(registry: OptOutRegistry, api: HfApi, repo_id: str, release_dir: str | Path) -> PushStatusResult:
    """Write `status/<id>.json` for every request filed through the intake repository, in one commit;
    statuses the repository already holds unchanged are not sent again."""
    result = PushStatusResult(repo_id)
    layout = ReleaseLayout.at(release_dir)
    revision = _head(api, repo_id)
    filed = {Path(p).stem for p in _folder(api, repo_id, "requests", revision)}
    published = _folder(api, repo_id, "status", revision)
    operations = []
    for request in registry.requests():
        if request.id not in filed:
            continue  # filed elsewhere (the command line): not this Space's to show
        status = StatusRecord.of(request, registry.history(request.id), read_receipt(layout, request.id))
        if published.get(status.path) == _blob_id(status.to_bytes()):
            result.unchanged += 1
            continue
        operations.append(CommitOperationAdd(path_in_repo=status.path, path_or_fileobj=status.to_bytes()))
        result.written.append(request.id)
    if operations:
        info = api.create_commit(
            repo_id,
            repo_type="dataset",
            operations=operations,
            commit_message=f"Status of {len(operations)} opt-out request(s)",
        )
        result.commit = info.oid
    return result
