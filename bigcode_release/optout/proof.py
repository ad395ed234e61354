"""What proves that a request comes from the account it names.

A proof is the URL of an issue opened by that account in the repository the maintainers name
(`https://github.com/<proof repository>/issues/<number>`). It is checked with GitHub's REST API
(`GET /repos/{owner}/{repo}/issues/{number}`, whose `user.login` must be the requester, compared
case-insensitively). Offline or on any API failure the proof is recorded as unverified and the
request waits for a maintainer, as every request without a proof does.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass

GITHUB_API = "https://api.github.com"
_ISSUE_URL = re.compile(
    r"^https://github\.com/(?P<owner>[A-Za-z0-9-]+)/(?P<repo>[A-Za-z0-9._-]+)/issues/(?P<n>\d{1,9})/?$"
)


def is_issue_url(proof: str) -> bool:
    """Whether `proof` has the shape of a GitHub issue URL (https://github.com/<owner>/<repo>/issues/<n>)."""
    return bool(_ISSUE_URL.match(proof or ""))


@dataclass(frozen=True)
class ProofCheck:
    """The outcome of checking a proof: `verified`, `rejected` (wrong repository or author),
    or `unverified` (could not be checked)."""

    outcome: str
    reason: str

    def to_dict(self) -> dict:
        return {"outcome": self.outcome, "reason": self.reason}


def check_proof(
    proof: str, username: str, proof_repository: str, api: str = GITHUB_API, timeout: float = 5.0
) -> ProofCheck:
    """Whether `proof` is an issue in `proof_repository` opened by `username`."""
    match = _ISSUE_URL.match(proof or "")
    if not match:
        return ProofCheck("rejected", "the proof is not a GitHub issue URL")
    if f"{match['owner']}/{match['repo']}".lower() != proof_repository.lower():
        return ProofCheck("rejected", f"the issue is not in {proof_repository}")
    url = f"{api.rstrip('/')}/repos/{match['owner']}/{match['repo']}/issues/{match['n']}"
    request = urllib.request.Request(
        url, headers={"Accept": "application/vnd.github+json", "User-Agent": "bigcode-release-optout"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            issue = json.loads(response.read(1_000_000))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return ProofCheck("rejected", "no such issue")
        return ProofCheck("unverified", f"GitHub API answered {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return ProofCheck("unverified", f"GitHub API unreachable ({type(exc).__name__})")
    author = (issue.get("user") or {}).get("login", "")
    if author.lower() != username.lower():
        return ProofCheck("rejected", f"the issue was opened by {author or 'nobody'!r}, not by {username!r}")
    return ProofCheck("verified", f"issue opened by {author}")
