"""Publish a release plan with `huggingface_hub` only, or write it to a folder.

Per repository: create it private (or keep it as it is), set its gate, send its files in commits
of bounded size through `create_commit` (which leaves out the files the Hub already has, by the ids
its preupload answers, and makes no commit when nothing changed), delete what the release no longer
has, tag the version, and only then make it public if the settings say so. A tag that exists must
point at the same files (compared by git blob SHA-1 or LFS SHA-256): versions are immutable. So a
push that completed uploads nothing when re-run, and a push killed midway resumes from the commits
that landed and ends in the same state. The same comparison gives the upload counts reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.errors import HfHubHTTPError

from bigcode_release.errors import ReleaseError
from bigcode_release.layout import ReleaseLayout
from bigcode_release.manifest import read_manifest
from bigcode_release.release.artifacts import RepoFile, RepoPlan, publishable_versions
from bigcode_release.release.auth import scrub, writer_identity
from bigcode_release.release.settings import CommitSettings

KEEP_REMOTE = {".gitattributes"}


@dataclass
class RepoResult:
    repo_id: str
    repo_type: str
    url: str
    head: str
    commits: list[str] = field(default_factory=list)
    tag: str | None = None
    gated: str | bool = False
    private: bool = False
    uploaded_files: int = 0
    uploaded_bytes: int = 0
    deleted_files: int = 0
    skipped: str | None = None
    kind: str = ""  # what the repository holds (dataset, model, space, index, ...: the plan's kind)


@dataclass
class PushResult:
    org: str
    user: str
    endpoint: str
    repos: list[RepoResult]
    seconds: float

    @property
    def uploaded_bytes(self) -> int:
        return sum(r.uploaded_bytes for r in self.repos)

    def to_dict(self) -> dict:
        return {**asdict(self), "uploaded_bytes": self.uploaded_bytes}


def file_ids(path: str) -> tuple[str, str]:
    """(git blob SHA-1, SHA-256) of a file, read once."""
    size = os.path.getsize(path)
    sha1, sha256 = hashlib.sha1(b"blob %d\0" % size), hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha1.update(chunk)
            sha256.update(chunk)
    return sha1.hexdigest(), sha256.hexdigest()


def _remote_files(api: HfApi, plan: RepoPlan, revision: str = "main") -> dict[str, set[str]]:
    """path -> the ids the Hub knows the file by (blob id, and LFS SHA-256 when stored in LFS)."""
    entries = api.list_repo_tree(plan.repo_id, repo_type=plan.repo_type, revision=revision, recursive=True)
    remote = {}
    for entry in entries:
        if getattr(entry, "lfs", None) is not None or hasattr(entry, "blob_id"):
            ids = {entry.blob_id}
            if entry.lfs is not None:
                ids.add(entry.lfs.sha256)
            remote[entry.path] = ids
    return remote


def _changed(plan: RepoPlan, remote: dict[str, set[str]]) -> list[RepoFile]:
    return [f for f in plan.files if not (remote.get(f.path_in_repo, set()) & set(file_ids(f.local)))]


def _batches(files: list[RepoFile], limits: CommitSettings) -> list[list[RepoFile]]:
    batches: list[list[RepoFile]] = [[]]
    size = 0
    for item in files:
        if batches[-1] and (size + item.size > limits.max_bytes or len(batches[-1]) >= limits.max_files):
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += item.size
    return [b for b in batches if b]


def _tag_target(api: HfApi, plan: RepoPlan) -> str | None:
    refs = api.list_repo_refs(plan.repo_id, repo_type=plan.repo_type)
    return next((t.target_commit for t in refs.tags if t.name == plan.tag), None)


def push_repo(
    api: HfApi,
    plan: RepoPlan,
    limits: CommitSettings,
    say: Callable[[str], None],
    space_secrets: dict[str, str] | None = None,
) -> RepoResult:
    """Bring one repository to the plan's state (see the module docstring); a Space also gets its
    variables, and the secrets of `space_secrets` it reads."""
    url = str(
        api.create_repo(
            plan.repo_id,
            repo_type=plan.repo_type,
            # a Space builds as soon as files land, and a private one cannot download its own wheel:
            # it is created with its final visibility; every other repository stays private until complete
            private=plan.private if plan.repo_type == "space" else True,
            exist_ok=True,
            space_sdk=plan.space_sdk,
            space_variables=[{"key": k, "value": v} for k, v in plan.space_variables.items()] or None,
        )
    )
    if plan.repo_type != "space":
        api.update_repo_settings(plan.repo_id, repo_type=plan.repo_type, gated=plan.gate or False)
    else:
        for key, value in plan.space_variables.items():  # also on a Space that exists already
            api.add_space_variable(plan.repo_id, key, value)
        for key in plan.space_secrets:
            if key in (space_secrets or {}):
                api.add_space_secret(plan.repo_id, key, space_secrets[key])
    result = RepoResult(
        plan.repo_id,
        plan.repo_type,
        url,
        head="",
        tag=plan.tag,
        gated=plan.gate or False,
        private=plan.private,
        kind=plan.kind,
    )
    if plan.tag and (target := _tag_target(api, plan)) is not None:
        if _changed(plan, _remote_files(api, plan, revision=target)):
            raise ReleaseError(
                f"{plan.repo_id}: tag {plan.tag} already holds other files; published versions are "
                "immutable: give the new build a new version"
            )
        result.head, result.skipped = target, f"tag {plan.tag} already published"
        say(f"{plan.repo_id}: {plan.tag} already published, nothing to upload")
    else:
        remote = _remote_files(api, plan)
        changed = {f.path_in_repo for f in _changed(plan, remote)}  # for the report: the library decides
        wanted = {f.path_in_repo for f in plan.files}
        deleted = sorted(p for p in remote if p not in wanted and p not in KEEP_REMOTE) if plan.prune else []
        head = api.repo_info(plan.repo_id, repo_type=plan.repo_type).sha
        batches = _batches(plan.files, limits)
        label = f"{plan.kind}{' ' + plan.tag if plan.tag else ''}"
        for number, batch in enumerate(batches, 1):
            # every file goes to create_commit, which leaves out those the Hub already has (its
            # preupload answers their ids) and makes no commit when nothing in the batch changed
            operations = [CommitOperationAdd(path_in_repo=f.path_in_repo, path_or_fileobj=f.local) for f in batch]
            if number == len(batches):
                operations += [CommitOperationDelete(path_in_repo=p) for p in deleted]
            with warnings.catch_warnings():  # a Space carrying the parquet files it reads is intended
                warnings.filterwarnings("ignore", message="It seems that you are about to commit a data file")
                info = api.create_commit(
                    plan.repo_id,
                    repo_type=plan.repo_type,
                    operations=operations,
                    commit_message=f"Release {label} (part {number}/{len(batches)}, bigcode-release)",
                )
            if info.oid != head:
                head = info.oid
                result.commits.append(info.oid)
                sent = [f for f in batch if f.path_in_repo in changed]
                say(
                    f"{plan.repo_id}: commit {number}/{len(batches)}: {len(sent)} changed files, "
                    f"{sum(f.size for f in sent):,} bytes"
                )
        result.uploaded_files = len(changed)
        result.uploaded_bytes = sum(f.size for f in plan.files if f.path_in_repo in changed)
        result.deleted_files = len(deleted)
        result.head = api.repo_info(plan.repo_id, repo_type=plan.repo_type).sha
        if plan.tag:
            api.create_tag(
                plan.repo_id,
                tag=plan.tag,
                revision=result.head,
                repo_type=plan.repo_type,
                tag_message=plan.tag_message or f"{plan.kind} {plan.tag}",
            )
        if not result.commits:
            say(f"{plan.repo_id}: up to date, nothing to upload")
    if not plan.private:
        api.update_repo_settings(plan.repo_id, repo_type=plan.repo_type, private=False)
    return result


def push_release(
    plans: list[RepoPlan],
    org: str,
    token: str,
    limits: CommitSettings,
    release: Path,
    endpoint: str | None = None,
    say: Callable[[str], None] = lambda _: None,
    space_secrets: dict[str, str] | None = None,
) -> PushResult:
    """Push every repository of the plan and write `<release>/hub-release.json`; each Space gets the
    secrets of `space_secrets` it reads (their values are never written anywhere else).

    Raises:
        ReleaseError: an approved opt-out request is not applied yet (nothing is sent), or the Hub
            refused a step (the message names the repository).
    """
    from bigcode_release.release.plan import require_optouts_applied

    require_optouts_applied(release)
    started = time.monotonic()
    api = HfApi(endpoint=endpoint, token=token)
    user = writer_identity(api, org, token)
    results = []
    for plan in plans:
        try:
            results.append(push_repo(api, plan, limits, say, space_secrets))
        except HfHubHTTPError as exc:
            message = f"{plan.repo_id}: the Hub refused the push: {exc}"
            for secret in (space_secrets or {}).values():
                message = scrub(message, secret)
            raise ReleaseError(scrub(message, token)) from None
    result = PushResult(
        org=org, user=user, endpoint=api.endpoint, repos=results, seconds=round(time.monotonic() - started, 1)
    )
    manifest = {**result.to_dict(), "pushed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    ReleaseLayout.at(release).hub_release_record.write_text(
        scrub(json.dumps(manifest, indent=2), token) + "\n", encoding="utf-8"
    )
    return result


def write_repo_trees(plans: list[RepoPlan], out_dir: str | Path, release: str | Path | None = None) -> Path:
    """The exact trees a push would upload, as `<out>/<type>s/<org>/<name>[@<tag>]/...` (one folder per
    tagged version), plus `release-plan.json` (visibility, gate, tag, files with sizes and SHA-256)."""
    out_dir = Path(out_dir)
    described = []
    for plan in plans:
        root = out_dir / f"{plan.repo_type}s" / (plan.repo_id + (f"@{plan.tag}" if plan.tag else ""))
        if root.exists():
            shutil.rmtree(root)
        entries = []
        for item in plan.files:
            target = root / item.path_in_repo
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(item.local, target)
            except OSError:
                shutil.copy2(item.local, target)
            entries.append({"path": item.path_in_repo, "size": item.size, "sha256": file_ids(item.local)[1]})
        described.append(
            {
                "repo_id": plan.repo_id,
                "repo_type": plan.repo_type,
                "kind": plan.kind,
                "private": plan.private,
                "gated": plan.gate or False,
                "tag": plan.tag,
                "space_sdk": plan.space_sdk,
                "space_variables": plan.space_variables,
                "space_secrets": plan.space_secrets,
                "prune": plan.prune,
                "folder": str(root),
                "files": entries,
                "tag_message": plan.tag_message or None,
                "source_manifest_hash": _manifest_hash(plan.source),
            }
        )
    path = out_dir / "release-plan.json"
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs, left_out = {}, {}
    if release is not None and (current := ReleaseLayout.at(release).current_version()):
        dataset = read_manifest(ReleaseLayout.at(release).dataset_dir(current))
        inputs = {"dataset_version": current, "dataset_manifest_hash": dataset["manifest_hash"]}
        left_out = publishable_versions(Path(release))[1]
    plan = {"inputs": inputs, "dataset_versions_left_out": left_out, "repos": described}
    path.write_text(json.dumps(plan, indent=2) + "\n", encoding="utf-8")
    return path


def _manifest_hash(source: str) -> str | None:
    """The manifest hash of the stage output a repository is made from (None for a folder)."""
    path = Path(source)
    if path.name != "manifest.json" or not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("manifest_hash")
