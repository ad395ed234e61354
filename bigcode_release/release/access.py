"""Gate management for maintainers: list, accept, reject and grant access requests."""

from __future__ import annotations

from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from bigcode_release.errors import ReleaseError
from bigcode_release.release.auth import scrub

STATUSES = ("pending", "accepted", "rejected")


def list_requests(api: HfApi, repo_id: str, repo_type: str, status: str) -> list[dict]:
    """The access requests of a gated repository in `status`."""
    listing = {
        "pending": api.list_pending_access_requests,
        "accepted": api.list_accepted_access_requests,
        "rejected": api.list_rejected_access_requests,
    }[status]
    try:
        return [
            {
                "user": r.username,
                "fullname": r.fullname,
                "email": r.email,
                "status": r.status,
                "timestamp": r.timestamp.isoformat() if r.timestamp else None,
                "fields": r.fields or {},
            }
            for r in listing(repo_id, repo_type=repo_type)
        ]
    except HfHubHTTPError as exc:
        raise ReleaseError(scrub(f"{repo_id}: cannot list {status} requests: {exc}", api.token)) from None


def decide(api: HfApi, repo_id: str, repo_type: str, action: str, user: str, reason: str | None = None) -> None:
    """`accept`, `reject` (with an optional reason) or `grant` (access without a request)."""
    try:
        if action == "accept":
            api.accept_access_request(repo_id, user, repo_type=repo_type)
        elif action == "reject":
            api.reject_access_request(repo_id, user, repo_type=repo_type, rejection_reason=reason)
        elif action == "grant":
            api.grant_access(repo_id, user, repo_type=repo_type)
        else:
            raise ReleaseError(f"unknown action {action!r}: accept, reject or grant")
    except HfHubHTTPError as exc:
        raise ReleaseError(scrub(f"{repo_id}: cannot {action} {user}: {exc}", api.token)) from None
