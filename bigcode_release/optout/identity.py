"""GitHub names as opt-out requests may use them, checked before any query."""

from __future__ import annotations

import re

from bigcode_release.errors import OptOutRequestError

# GitHub: 1-39 characters, ASCII letters, digits and single hyphens, not at either end
_USERNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
# repository names: letters, digits, '.', '-', '_'; at most 100; not '.' or '..'
_REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def check_username(username: object) -> str:
    """`username` if it can be a GitHub account name, else OptOutRequestError saying why."""
    if not isinstance(username, str) or not username.strip():
        raise OptOutRequestError("username: empty; give a GitHub username")
    if len(username) > 39:
        raise OptOutRequestError(f"username: {len(username)} characters; GitHub usernames have at most 39")
    if not username.isascii():
        raise OptOutRequestError(
            f"username {username!r}: only ASCII letters, digits and hyphens are allowed "
            "(this one has look-alike or non-ASCII characters)"
        )
    if not _USERNAME.match(username):
        raise OptOutRequestError(
            f"username {username!r}: only letters, digits and single hyphens, not starting or ending with a hyphen"
        )
    return username


def check_repo(repo: object, username: str) -> str:
    """`owner/name` if well formed and owned by `username` (case-insensitive), else why not."""
    if not isinstance(repo, str) or repo.count("/") != 1:
        raise OptOutRequestError(f"repository {repo!r}: expected 'owner/name'")
    owner, name = repo.split("/")
    try:
        check_username(owner)
    except OptOutRequestError as exc:
        raise OptOutRequestError(f"repository {repo!r}: the owner is not a GitHub username ({exc})") from None
    if not _REPO_NAME.match(name) or name in (".", ".."):
        raise OptOutRequestError(f"repository {repo!r}: the name may only hold letters, digits, '.', '-', '_'")
    if owner.lower() != username.lower():
        raise OptOutRequestError(
            f"repository {repo!r} belongs to {owner!r}, not to {username!r}: a request can "
            "only remove repositories of the account that makes it"
        )
    return repo
