"""The data index as a published data Space gets it: the gated dataset repository `release push`
writes (`<org>/<name>-index`, tagged with the dataset version it indexes), downloaded at start into
the Space's Hub cache. Its files are laid out as in a release directory, so the downloaded folder is
the release the Space reads."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from huggingface_hub import HfApi, snapshot_download
from huggingface_hub.errors import HfHubHTTPError

from bigcode_release.errors import DataIndexError


def download_index(repo_id: str, revision: str | None, token: str | None, say=None) -> Path:
    """The local folder of `repo_id` at `revision` (a cached copy is reused), saying what it loads.

    Raises:
        DataIndexError: the repository or revision cannot be read with this token.
    """
    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    api = HfApi(token=token)
    try:
        info = api.dataset_info(repo_id, revision=revision, files_metadata=True)
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise DataIndexError(
            f"cannot read the data index {repo_id}@{revision or 'main'} (HTTP {status}): check INDEX_REPO, "
            "INDEX_REVISION and that the Space's HF_TOKEN may read the gated repository"
        ) from None
    files = info.siblings or []
    total = sum(f.size or 0 for f in files)
    say(f"loading the data index {repo_id}@{revision or 'main'}: {len(files)} files, {total / 2**20:,.1f} MiB")
    started = time.monotonic()
    folder = snapshot_download(repo_id, repo_type="dataset", revision=info.sha, token=token)
    say(f"data index ready in {time.monotonic() - started:.1f} s: {folder}")
    return Path(folder)


def index_release() -> str:
    """The release folder a data Space reads: the index downloaded from its INDEX_REPO variable when
    set (published), else RELEASE_DIR (served from a checkout)."""
    from bigcode_release import space_env

    repo = space_env.read(space_env.INDEX_REPO)
    if not repo:
        return space_env.read(space_env.RELEASE_DIR)
    return str(download_index(repo, space_env.read(space_env.INDEX_REVISION), space_env.read(space_env.HF_TOKEN)))
