"""The user's Hub token (the standard login or `HF_TOKEN`), who it belongs to, whether it may write
to an organisation, and keeping it out of every message."""

from __future__ import annotations

from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import HfHubHTTPError

from bigcode_release.errors import ReleaseError

WRITE_ROLES = ("admin", "write", "contributor")


def resolve_token(token: str | None = None) -> str:
    """The token to use; a clear error when there is none."""
    found = token or get_token()
    if not found:
        raise ReleaseError(
            "no Hugging Face token: log in with `hf auth login` or set HF_TOKEN "
            "(or use `release push --to-dir DIR` to write the repositories locally)"
        )
    return found


def hub_api() -> HfApi:
    """An `HfApi` for the Hub at HF_ENDPOINT (default huggingface.co) with the user's token."""
    import os

    return HfApi(endpoint=os.environ.get("HF_ENDPOINT"), token=resolve_token())


def scrub(text: str, token: str | None) -> str:
    """`text` with the token replaced, for logs, manifests and errors."""
    return text.replace(token, "hf_***") if token else text


def writer_identity(api: HfApi, org: str, token: str) -> str:
    """The user the token belongs to, after checking it may create repositories under `org`."""
    try:
        me = api.whoami(token=token)
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise ReleaseError(
            f"the Hub at {api.endpoint} refused the token (HTTP {status}): log in again with "
            "`hf auth login` or set a valid HF_TOKEN"
        ) from None
    except Exception as exc:  # noqa: BLE001 - connection errors
        raise ReleaseError(
            scrub(f"cannot reach the Hub at {api.endpoint}: {type(exc).__name__}: {exc}", token)
        ) from None
    user = me.get("name", "")
    if org == user:
        return user
    role = next((o.get("roleInOrg") for o in me.get("orgs", []) if o.get("name") == org), None)
    if role not in WRITE_ROLES:
        held = f"your role there is '{role}'" if role else "you are not a member"
        raise ReleaseError(
            f"user {user} cannot write to the organisation {org} ({held}); ask an admin of {org} "
            "for write access or pass --org with your own namespace"
        )
    return user
