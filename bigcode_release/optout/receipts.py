"""A removal receipt per opt-out request: what a dataset version removed for it, and checks run on
that version's artifacts that the owner's code is gone from each of them.

`<release>/optout/receipts/<request id>.json` holds the version, its manifest hash, the files and
bytes removed (the owner's own, and copies of them found in other repositories), the tokenizer's
provenance, and one entry per check with what it looked at:

    data        no row of the version's data is the owner's, nor one of the removed copies
    repos       the version's repos table shows each of the owner's repositories opted out by it
    search      searching the version's BM25 index for each removed file's path and for a line of
                its code returns none of the owner's files
    membership  a membership query of each removed file returns no span whose source is the owner's
    tokenized   the version's tokenized shards hold exactly the data's documents (read with datatrove)

A receipt is written only by the command that applies the request; a request is marked applied
only when every check passed.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from bigcode_release.data.sources.plan import ReadPlan
from bigcode_release.data.stats import version_tables
from bigcode_release.errors import DataIndexError
from bigcode_release.layout import ReleaseLayout
from bigcode_release.manifest import read_manifest
from bigcode_release.tokenizer.ds_format import check_folder

# removed files queried against the search and membership indexes (each query takes milliseconds)
MAX_QUERIED_FILES = 40


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class Receipt:
    request_id: str
    targets: list[str]
    dataset_version: str
    dataset_manifest_hash: str
    applied_at: str
    removed: dict
    tokenizer: dict
    checks: list[Check] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def to_dict(self) -> dict:
        return {**asdict(self), "verified": self.verified}

    @classmethod
    def from_dict(cls, data: dict) -> Receipt:
        fields = {k: v for k, v in data.items() if k != "verified"}
        return cls(**{**fields, "checks": [Check(**c) for c in data["checks"]]})

    def summary(self) -> str:
        """One line for people: "removed in v1.2 on 2026-12-02: 45 files, 3 copies elsewhere; verified ..."."""
        removed = self.removed
        verdict = (
            "verified absent from the data, search, membership and tokenized shards"
            if self.verified
            else "checks FAILED: " + ", ".join(c.name for c in self.checks if not c.passed)
        )
        return (
            f"removed in {self.dataset_version} on {self.applied_at[:10]}: {removed['files']:,} files, "
            f"{removed['copies']:,} copies elsewhere; {verdict}"
        )


def _owned(repo_name: str, targets: list[str]) -> bool:
    """Whether `owner/name` is one of the targets (an account `owner`, or a repository `owner/name`)."""
    repo = repo_name.lower()
    return any(repo == t.lower() or ("/" not in t and repo.split("/", 1)[0] == t.lower()) for t in targets)


def _removed_files(version_dir: Path, request_id: str, targets: list[str]) -> tuple[list[dict], list[dict]]:
    """(the targets' own files, copies of them) the version's drop ledgers record as removed by an
    opt-out (own files whichever request covering them removed them first)."""
    tables = version_tables(version_dir)
    opted_out = tables.rows("SELECT repo_name, path, size FROM dropped WHERE reason = 'opted_out' ORDER BY 1, 2")
    return [f for f in opted_out if _owned(f["repo_name"], targets)], tables.optout_copies([request_id])


def _texts(layout: ReleaseLayout, version: str, files: list[dict]) -> list[tuple[str, str]]:
    """(`repo/path`, text) of removed files: read where the build read them (its read plan); files
    the plan cannot give (no plan for Stack-schema files, a source moved or gone) from the newest
    earlier version that holds them (only their rows are read)."""
    wanted = {(f["repo_name"], f["path"]) for f in files}
    texts: dict[tuple[str, str], str] = {}
    unreadable = set(wanted)
    plan_path = layout.version_dir(version) / "work" / "plan.json"
    for repo in ReadPlan.load(plan_path).repos if plan_path.is_file() else []:
        for planned in repo.files:
            key = (repo.repo_name, planned.path)
            if key in wanted:
                try:
                    texts[key] = Path(planned.abspath).read_text(encoding="utf-8")
                    unreadable.discard(key)
                except (OSError, UnicodeDecodeError):
                    continue
    for earlier in reversed(layout.built_versions()):
        if not unreadable:
            break
        if earlier.name == version:
            continue
        repos = sorted({repo for repo, _ in unreadable})
        table = pq.read_table(
            earlier / "data", columns=["repo_name", "path", "content"], filters=[("repo_name", "in", repos)]
        )
        for row in table.to_pylist():
            key = (row["repo_name"], row["path"])
            if key in unreadable:
                texts[key] = row["content"]
                unreadable.discard(key)
    found = sorted(((f"{r}/{p}", t) for (r, p), t in texts.items() if t.strip()), key=lambda item: -len(item[1]))
    return found[:MAX_QUERIED_FILES]


def _check_data(version_dir: Path, targets: list[str], copies: list[dict]) -> Check:
    table = pq.read_table(version_dir / "data", columns=["id", "repo_name"])
    owned = [r for r in table.column("repo_name").to_pylist() if _owned(r, targets)]
    copy_ids = {c["file"] for c in copies}
    kept_copies = [i for i in table.column("id").to_pylist() if i in copy_ids]
    return Check(
        "data",
        not owned and not kept_copies,
        f"{table.num_rows:,} rows read: {len(owned)} of the owner's, {len(kept_copies)} of the {len(copies)} copies",
    )


def _check_repos(version_dir: Path, targets: list[str]) -> Check:
    """Each repository of the targets is excluded from the version (by this request, by another
    covering it, or before the opt-out step: a repository with no file in a selected language)."""
    repos = pq.read_table(version_dir / "repos.parquet").to_pylist()
    mine = [r for r in repos if _owned(r["repo_name"], targets)]
    included = [r["repo_name"] for r in mine if r["included"]]
    reasons = sorted(
        {f"{r['drop_reason']}" + (f" ({r['optout_request_id']})" if r["optout_request_id"] else "") for r in mine}
    )
    return Check(
        "repos",
        not included,
        f"{len(mine)} repositories of the targets, none included: {', '.join(reasons) or 'none in the source'}"
        if not included
        else f"still included: {', '.join(included)}",
    )


def _queries(path: str, text: str) -> list[str]:
    """A search for the file's path, and for its longest line as an exact phrase."""
    lines = sorted((line.strip() for line in text.splitlines()), key=len, reverse=True)
    phrase = next((line for line in lines if 20 <= len(line) <= 200 and '"' not in line), None)
    queries = [" ".join(path.split("/")[2:]).replace(".", " ")]
    return queries + ([f'"{phrase}"'] if phrase else [])


def _check_search(index_dir: Path, targets: list[str], texts: list[tuple[str, str]], copies: list[dict]) -> Check:
    from bigcode_release.index import bm25

    copy_ids = {c["file"] for c in copies}
    found, queries = [], 0
    for path, text in texts:
        for query in _queries(path, text):
            try:
                hits = bm25.search(index_dir / "bm25", query, top=20)
            except DataIndexError:
                continue
            queries += 1
            found += [f"{h.repo}/{h.path}" for h in hits if _owned(h.repo, targets) or f"{h.repo}/{h.path}" in copy_ids]
    if not texts:
        return Check("search", True, "no removed file with text to search for (nothing of the targets was read)")
    return Check(
        "search",
        not found,
        f"{queries} searches for {len(texts)} removed files: "
        + (f"found {', '.join(sorted(set(found))[:5])}" if found else "none of the owner's files or the copies"),
    )


def _check_membership(index_dir: Path, version: str, targets: list[str], texts: list[tuple[str, str]]) -> Check:
    from bigcode_release.index.attribution import MembershipIndex

    if not texts:
        return Check("membership", True, "no removed file with text to query (nothing of the targets was read)")
    index = MembershipIndex(index_dir, version)
    spans = leaks = queried = 0
    for _, text in texts:
        try:
            result = index.attribute(text[:100_000], min_bytes=64, max_sources=50)
        except DataIndexError:
            continue
        queried += 1
        spans += len(result.spans)
        leaks += sum(1 for span in result.spans for s in span.sources if _owned(s.repo, targets))
    return Check(
        "membership",
        leaks == 0,
        f"{queried} removed files queried: {spans} spans found elsewhere in the data, {leaks} from the owner",
    )


def _check_tokenized(layout: ReleaseLayout, version: str, dataset: dict) -> Check:
    folder = layout.tokenized_dir(version)
    manifest = read_manifest(folder) or {}
    if manifest.get("inputs", {}).get("dataset_manifest_hash") != dataset["manifest_hash"]:
        return Check("tokenized", False, f"{folder} was not made from {version} (or is missing)")
    vocab = manifest["counts"]["vocab_size"]
    documents = sum(info.documents for split in ("train", "validation") for info in check_folder(folder / split, vocab))
    kept = dataset["counts"]["kept_files"]
    return Check(
        "tokenized",
        documents == kept,
        f"{documents:,} documents in the shards' indexes (each shard checked whole), {kept:,} in the data",
    )


def verify_removal(layout: ReleaseLayout, version: str, request_id: str, targets: list[str]) -> Receipt:
    """Check that a dataset version removed a request's code from every artifact; the receipt."""
    version_dir = layout.dataset_dir(version)
    dataset = read_manifest(version_dir)
    own, copies = _removed_files(version_dir, request_id, targets)
    tokenizer = read_manifest(layout.tokenizer_dir) or {}
    receipt = Receipt(
        request_id=request_id,
        targets=sorted(targets),
        dataset_version=version,
        dataset_manifest_hash=dataset["manifest_hash"],
        applied_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        removed={
            "files": len(own),
            "bytes": sum(f["size"] or 0 for f in own),
            "copies": len(copies),
            "copies_bytes": sum(c["size"] or 0 for c in copies),
            "copies_list": copies[:200],
        },
        tokenizer={
            "kept": True,
            "sample_from": tokenizer.get("inputs", {}).get("dataset_version"),
            "note": "the tokenizer is kept across patch versions; its vocabulary was learned from the sample named here",
        },
    )
    texts = _texts(layout, version, own + copies)
    index_dir = layout.index_dir(version)
    receipt.checks = [
        _check_data(version_dir, targets, copies),
        _check_repos(version_dir, targets),
        _check_search(index_dir, targets, texts, copies),
        _check_membership(index_dir, version, targets, texts),
        _check_tokenized(layout, version, dataset),
    ]
    return receipt


def write_receipt(layout: ReleaseLayout, receipt: Receipt) -> Path:
    path = layout.receipt(receipt.request_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(receipt.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path


def read_receipt(layout: ReleaseLayout, request_id: str) -> dict | None:
    """A request's receipt as written (None when no version has applied it)."""
    path = layout.receipt(request_id)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


@dataclass
class Application:
    """What applying a version's opt-out list did: receipts written, requests marked applied, and
    requests that could not be verified yet (and why)."""

    version: str
    receipts: list[Receipt] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "applied": {r.request_id: r.summary() for r in self.receipts if r.verified},
            "failed": {r.request_id: r.summary() for r in self.receipts if not r.verified},
            "waiting": self.waiting,
        }


def apply_requests(layout: ReleaseLayout, registry, version: str, by: str) -> Application:
    """For each approved request in `version`'s opt-out list: verify its removal from the
    version's artifacts, write the receipt, and mark it applied in `version` when every check
    passed. A request whose version lacks an index or tokenized shards waits (the reason says
    which command to run); one whose checks fail stays approved with its receipt saying why."""
    from bigcode_release.errors import RegistryError

    version_dir = layout.dataset_dir(version)
    applied = read_manifest(version_dir)["inputs"]["optout"]
    outcome = Application(version)
    missing = []
    if not (layout.index_dir(version) / "manifest.json").is_file():
        missing.append(f"bigcode-release index build {layout.root} --version {version}")
    if not (layout.tokenized_dir(version) / "manifest.json").is_file():
        missing.append(f"bigcode-release tokenize {layout.root}")
    for entry in applied.get("requests", []):
        request_id = entry["request_id"]
        try:
            status = registry.get(request_id).status
        except RegistryError:
            continue  # a list entry that did not come from this registry
        if status != "approved":
            continue
        if missing:
            outcome.waiting[request_id] = "verify it after: " + "; ".join(missing)
            continue
        receipt = verify_removal(layout, version, request_id, entry["targets"])
        write_receipt(layout, receipt)
        outcome.receipts.append(receipt)
        if receipt.verified:
            registry.mark_applied(request_id, version, by=by, detail={"receipt": receipt.summary()})
    return outcome
