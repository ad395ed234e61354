"""A small loopback server speaking enough of the Hugging Face Hub's HTTP protocol for the real
`HfApi` to create repos, upload (regular and LFS), gate, tag, manage access requests and download.

Checked against huggingface_hub 2.4.0 (with `HF_HUB_DISABLE_XET=1`). State lives in memory:
repos hold a list of commits, each a full snapshot `{path: (oid, size, lfs)}`; blobs are stored
by content hash. Tokens map to users; users belong to organisations with a role.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

LFS_THRESHOLD = 10 * 1024 * 1024  # the Hub sends larger files (and binaries) to LFS


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    gated: str | bool = False
    commits: list[dict] = field(default_factory=list)  # {"oid", "files": {path: (oid, size, lfs)}, "title"}
    tags: dict[str, str] = field(default_factory=dict)
    requests: dict[str, dict] = field(default_factory=dict)  # user -> {"status", "timestamp", "fields"}
    sdk: str | None = None
    variables: dict[str, str] = field(default_factory=dict)  # a Space's variables and secrets, which
    secrets: dict[str, str] = field(default_factory=dict)  # its runtime passes as environment variables

    @property
    def head(self) -> dict:
        return self.commits[-1]


class FakeHub:
    """The server's state and its Starlette app."""

    def __init__(self, users: dict[str, str], orgs: dict[str, dict[str, str]]):
        self.users = users  # token -> username
        self.orgs = orgs  # org -> {username: role}
        self.repos: dict[tuple[str, str], Repo] = {}
        self.blobs: dict[str, bytes] = {}  # sha256 (lfs) or git sha1 (regular) -> bytes
        self.lock = threading.Lock()
        self.commit_requests = 0
        self.ranged_reads = 0  # downloads of part of a file (Range requests)
        self.hold_commits_after: int | None = None  # commits after this many block until released
        self.refuse_commits = False  # answer every commit with 503, as the Hub does when it is down
        self.released = threading.Event()
        self.url = ""

    # -- helpers -----------------------------------------------------------------------------------
    def user_of(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        return self.users.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None

    def can_write(self, user: str | None, namespace: str) -> bool:
        return user is not None and (user == namespace or self.orgs.get(namespace, {}).get(user) in ("admin", "write"))

    def repo(self, repo_type: str, repo_id: str) -> Repo | None:
        return self.repos.get((repo_type, repo_id))

    @staticmethod
    def not_found(message: str = "Repository not found") -> Response:
        return Response(message, status_code=404, headers={"X-Error-Code": "RepoNotFound", "X-Error-Message": message})

    @staticmethod
    def denied(message: str, status: int = 403) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status, headers={"X-Error-Message": message})

    def visible(self, repo: Repo, user: str | None) -> bool:
        return not repo.private or self.can_write(user, repo.repo_id.split("/")[0])

    def may_download(self, repo: Repo, user: str | None) -> bool:
        if self.can_write(user, repo.repo_id.split("/")[0]) or not repo.gated:
            return True
        return user is not None and repo.requests.get(user, {}).get("status") == "accepted"

    def add_commit(self, repo: Repo, files: dict, title: str) -> dict:
        parent = repo.commits[-1]["oid"] if repo.commits else ""
        digest = hashlib.sha1(json.dumps([parent, title, sorted(files.items())]).encode()).hexdigest()
        commit = {"oid": digest, "files": files, "title": title}
        repo.commits.append(commit)
        return commit

    def resolve_revision(self, repo: Repo, revision: str) -> dict | None:
        revision = unquote(revision)
        if revision in ("main", "refs/heads/main"):
            return repo.head
        if revision in repo.tags:
            revision = repo.tags[revision]
        return next((c for c in repo.commits if c["oid"] == revision), None)

    # -- routes ------------------------------------------------------------------------------------
    async def whoami(self, request: Request) -> Response:
        user = self.user_of(request)
        if user is None:
            return JSONResponse(
                {"error": "Invalid credentials in Authorization header"},
                status_code=401,
                headers={"X-Error-Message": "Invalid credentials in Authorization header"},
            )
        orgs = [{"name": org, "roleInOrg": members[user]} for org, members in self.orgs.items() if user in members]
        return JSONResponse(
            {
                "type": "user",
                "name": user,
                "fullname": user,
                "orgs": orgs,
                "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "write"}},
            }
        )

    async def create_repo(self, request: Request) -> Response:
        body = await request.json()
        repo_type = body.get("type") or "model"
        namespace = body.get("organization") or self.user_of(request)
        repo_id = f"{namespace}/{body['name']}"
        url = f"{self.url}/{'' if repo_type == 'model' else repo_type + 's/'}{repo_id}"
        if not self.can_write(self.user_of(request), namespace or ""):
            return self.denied(f"You don't have the rights to create a repo under the namespace {namespace}")
        with self.lock:
            if (repo_type, repo_id) in self.repos:
                return JSONResponse({"error": "You already created this repo", "url": url}, status_code=409)
            repo = Repo(
                repo_type,
                repo_id,
                private=body.get("visibility") == "private" or bool(body.get("private")),
                sdk=body.get("sdk"),
            )
            self.add_commit(
                repo,
                {".gitattributes": self.store(b"*.parquet filter=lfs diff=lfs merge=lfs -text\n")},
                "initial commit",
            )
            self.repos[(repo_type, repo_id)] = repo
        return JSONResponse({"url": url, "name": repo_id})

    def store(self, data: bytes, lfs: bool = False) -> tuple[str, int, bool]:
        oid = hashlib.sha256(data).hexdigest() if lfs else git_blob_sha1(data)
        self.blobs[oid] = data
        return (oid, len(data), lfs)

    async def validate_yaml(self, request: Request) -> Response:
        body = await request.json()
        import yaml

        content = body.get("content", "")
        if content.startswith("---"):
            try:
                yaml.safe_load(content.split("---", 2)[1])
            except yaml.YAMLError as exc:
                return JSONResponse({"error": f"Invalid metadata in README.md: {exc}"}, status_code=400)
        return JSONResponse({"errors": [], "warnings": []})

    def _repo_from_path(self, request: Request) -> tuple[Repo | None, str]:
        params = request.path_params
        return self.repo(params["type"].rstrip("s"), f"{params['ns']}/{params['name']}"), params.get("rev", "main")

    async def repo_info(self, request: Request) -> Response:
        repo, revision = self._repo_from_path(request)
        user = self.user_of(request)
        if repo is None or not self.visible(repo, user):
            return self.not_found()
        commit = self.resolve_revision(repo, revision)
        if commit is None:
            return Response("Revision not found", status_code=404, headers={"X-Error-Code": "RevisionNotFound"})
        return JSONResponse(
            {
                "id": repo.repo_id,
                "_id": repo.repo_id,
                "sha": commit["oid"],
                "private": repo.private,
                "gated": repo.gated,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "sdk": repo.sdk,
                "lastModified": "2026-11-24T00:00:00.000Z",
                "siblings": [{"rfilename": p} for p in sorted(commit["files"])],
            }
        )

    async def preupload(self, request: Request) -> Response:
        repo, revision = self._repo_from_path(request)
        if repo is None or not self.can_write(self.user_of(request), repo.repo_id.split("/")[0]):
            return self.not_found()
        body = await request.json()
        head = self.resolve_revision(repo, revision) or repo.head
        answers = []
        for item in body["files"]:
            sample = base64.b64decode(item["sample"])
            lfs = item["size"] > LFS_THRESHOLD or b"\0" in sample or item["path"].endswith(".parquet")
            existing = head["files"].get(item["path"])
            answers.append(
                {
                    "path": item["path"],
                    "uploadMode": "lfs" if lfs else "regular",
                    "shouldIgnore": False,
                    "oid": existing[0] if existing else None,
                }
            )
        return JSONResponse({"files": answers})

    async def lfs_batch(self, request: Request) -> Response:
        body = await request.json()
        objects = []
        for item in body["objects"]:
            entry = {"oid": item["oid"], "size": item["size"]}
            if item["oid"] not in self.blobs:
                entry["actions"] = {"upload": {"href": f"{self.url}/lfs-upload/{item['oid']}"}}
            objects.append(entry)
        return JSONResponse({"transfer": "basic", "objects": objects}, media_type="application/vnd.git-lfs+json")

    async def lfs_upload(self, request: Request) -> Response:
        data = await request.body()
        oid = request.path_params["oid"]
        if hashlib.sha256(data).hexdigest() != oid:
            return JSONResponse({"error": "sha256 mismatch"}, status_code=400)
        self.blobs[oid] = data
        return Response(status_code=200)

    async def commit(self, request: Request) -> Response:
        repo, revision = self._repo_from_path(request)
        if repo is None or not self.can_write(self.user_of(request), repo.repo_id.split("/")[0]):
            return self.not_found()
        lines = [json.loads(line) for line in (await request.body()).decode().splitlines() if line.strip()]
        self.commit_requests += 1
        if self.refuse_commits:
            return JSONResponse({"error": "Service unavailable"}, status_code=503)
        if self.hold_commits_after is not None and self.commit_requests > self.hold_commits_after:
            self.released.wait(60)  # the test kills the client meanwhile; this commit never lands
            return JSONResponse({"error": "Service unavailable"}, status_code=503)
        with self.lock:
            files = dict(repo.head["files"])
            title = ""
            for line in lines:
                key, value = line["key"], line["value"]
                if key == "header":
                    title = value.get("summary", "")
                elif key == "file":
                    files[value["path"]] = self.store(base64.b64decode(value["content"]))
                elif key == "lfsFile":
                    if value["oid"] not in self.blobs:
                        return JSONResponse({"error": f"LFS object {value['oid']} was never uploaded"}, status_code=400)
                    files[value["path"]] = (value["oid"], len(self.blobs[value["oid"]]), True)
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key == "deletedFolder":
                    files = {p: v for p, v in files.items() if not p.startswith(value["path"].rstrip("/") + "/")}
            commit = self.add_commit(repo, files, title)
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        return JSONResponse(
            {
                "commitOid": commit["oid"],
                "commitUrl": f"{self.url}/{prefix}{repo.repo_id}/commit/{commit['oid']}",
                "pullRequestUrl": None,
            }
        )

    async def settings(self, request: Request) -> Response:
        repo, _ = self._repo_from_path(request)
        if repo is None or not self.can_write(self.user_of(request), repo.repo_id.split("/")[0]):
            return self.not_found()
        body = await request.json()
        if "gated" in body:
            repo.gated = body["gated"]
        if "private" in body:
            repo.private = bool(body["private"])
        if "visibility" in body:
            repo.private = body["visibility"] == "private"
        return JSONResponse({})

    async def space_settings(self, request: Request) -> Response:
        """POST (set) or DELETE a Space's variable or secret: `/api/spaces/{ns}/{name}/variables|secrets`."""
        repo = self.repo("space", f"{request.path_params['ns']}/{request.path_params['name']}")
        if (
            repo is None
            or request.path_params["kind"] not in ("variables", "secrets")
            or not self.can_write(self.user_of(request), repo.repo_id.split("/")[0])
        ):
            return self.not_found()
        body = await request.json()
        store = repo.variables if request.path_params["kind"] == "variables" else repo.secrets
        if request.method == "DELETE":
            store.pop(body["key"], None)
        else:
            store[body["key"]] = body.get("value", "")
        if request.path_params["kind"] == "secrets":
            return JSONResponse({})
        return JSONResponse({k: {"value": v, "updatedAt": _now()} for k, v in repo.variables.items()})

    def space_environment(self, repo_id: str) -> dict[str, str]:
        """What the Hub's runtime gives a Space's process: its variables and secrets as environment variables."""
        repo = self.repos[("space", repo_id)]
        return {**repo.variables, **repo.secrets}

    async def tag(self, request: Request) -> Response:
        repo, revision = self._repo_from_path(request)
        if repo is None or not self.can_write(self.user_of(request), repo.repo_id.split("/")[0]):
            return self.not_found()
        body = await request.json()
        if body["tag"] in repo.tags:
            return JSONResponse({"error": f"Tag {body['tag']} already exists"}, status_code=409)
        commit = self.resolve_revision(repo, revision)
        repo.tags[body["tag"]] = commit["oid"]
        return JSONResponse({})

    async def refs(self, request: Request) -> Response:
        repo, _ = self._repo_from_path(request)
        if repo is None or not self.visible(repo, self.user_of(request)):
            return self.not_found()
        return JSONResponse(
            {
                "branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": repo.head["oid"]}],
                "tags": [
                    {"name": t, "ref": f"refs/tags/{t}", "targetCommit": oid} for t, oid in sorted(repo.tags.items())
                ],
                "converts": [],
            }
        )

    @staticmethod
    def _file_entry(path: str, oid: str, size: int, lfs: bool) -> dict:
        entry = {
            "type": "file",
            "path": path,
            "size": size,
            "oid": oid if not lfs else git_blob_sha1(b"lfs:" + oid.encode()),
        }
        if lfs:
            entry["lfs"] = {"oid": oid, "size": size, "pointerSize": 130}
        return entry

    @staticmethod
    def _folder_entry(path: str) -> dict:
        return {"type": "directory", "path": path, "oid": git_blob_sha1(b"tree:" + path.encode())}

    async def tree(self, request: Request) -> Response:
        """A folder's entries: its files and subfolders, or with `recursive=true` everything under it."""
        repo, revision = self._repo_from_path(request)
        if repo is None or not self.visible(repo, self.user_of(request)):
            return self.not_found()
        commit = self.resolve_revision(repo, revision)
        base = request.path_params.get("path", "").strip("/")
        recursive = request.query_params.get("recursive", "false").lower() in ("1", "true")
        prefix = base + "/" if base else ""
        entries, folders = [], set()
        for path, (oid, size, lfs) in sorted(commit["files"].items()):
            if not path.startswith(prefix):
                continue
            parts = path[len(prefix) :].split("/")
            for depth in range(1, len(parts) if recursive else min(2, len(parts))):
                folders.add(prefix + "/".join(parts[:depth]))
            if recursive or len(parts) == 1:
                entries.append(self._file_entry(path, oid, size, lfs))
        entries += [self._folder_entry(folder) for folder in sorted(folders)]
        if base and not entries:  # the Hub answers a folder that does not exist with 404
            return Response(
                "Entry not found",
                status_code=404,
                headers={"X-Error-Code": "EntryNotFound", "X-Error-Message": f"{base} does not exist"},
            )
        return JSONResponse(entries)

    async def paths_info(self, request: Request) -> Response:
        """What the Hub knows of some paths (files and folders); paths that do not exist are left out."""
        repo, revision = self._repo_from_path(request)
        if repo is None or not self.visible(repo, self.user_of(request)):
            return self.not_found()
        commit = self.resolve_revision(repo, revision)
        form = parse_qs((await request.body()).decode())  # huggingface_hub posts the paths form-encoded
        found = []
        for path in (p.strip("/") for p in form.get("paths", [])):
            if path in commit["files"]:
                found.append(self._file_entry(path, *commit["files"][path]))
            elif any(p.startswith(path + "/") for p in commit["files"]):
                found.append(self._folder_entry(path))
        return JSONResponse(found)

    async def access_list(self, request: Request) -> Response:
        repo, _ = self._repo_from_path(request)
        if repo is None or not self.can_write(self.user_of(request), repo.repo_id.split("/")[0]):
            return self.not_found()
        status = request.path_params["status"]
        return JSONResponse(
            [
                {
                    "user": {"user": u, "fullname": u.title(), "email": f"{u}@example.org"},
                    "requestId": f"req-{u}",
                    "status": r["status"],
                    "timestamp": r["timestamp"],
                    "fields": r.get("fields", {}),
                }
                for u, r in repo.requests.items()
                if r["status"] == status
            ]
        )

    async def access_handle(self, request: Request) -> Response:
        repo, _ = self._repo_from_path(request)
        if repo is None or not self.can_write(self.user_of(request), repo.repo_id.split("/")[0]):
            return self.not_found()
        body = await request.json()
        user = body.get("user") or body.get("requestId", "").removeprefix("req-")
        if user not in repo.requests:
            return JSONResponse({"error": f"No request for {user}"}, status_code=404)
        repo.requests[user]["status"] = body["status"]
        return JSONResponse({})

    async def access_grant(self, request: Request) -> Response:
        repo, _ = self._repo_from_path(request)
        if repo is None or not self.can_write(self.user_of(request), repo.repo_id.split("/")[0]):
            return self.not_found()
        user = (await request.json())["user"]
        if not repo.gated:
            return JSONResponse({"error": "Repo is not gated"}, status_code=400)
        if repo.requests.get(user, {}).get("status") == "accepted":
            return JSONResponse({"error": f"{user} already has access"}, status_code=400)
        repo.requests[user] = {"status": "accepted", "timestamp": _now()}
        return JSONResponse({})

    async def resolve(self, request: Request) -> Response:
        params = request.path_params
        repo_type = params.get("type", "models").rstrip("s")
        repo = self.repo(repo_type, f"{params['ns']}/{params['name']}")
        user = self.user_of(request)
        if repo is None or not self.visible(repo, user):
            return self.not_found()
        if not self.may_download(repo, user) and params["path"] != "README.md":
            message = f"Access to {repo.repo_type} {repo.repo_id} is restricted. You must have access to it."
            return Response(
                message,
                status_code=401 if user is None else 403,
                headers={"X-Error-Code": "GatedRepo", "X-Error-Message": message},
            )
        commit = self.resolve_revision(repo, params["rev"])
        if commit is None or params["path"] not in commit["files"]:
            return Response("Entry not found", status_code=404, headers={"X-Error-Code": "EntryNotFound"})
        oid, size, _ = commit["files"][params["path"]]
        headers = {
            "X-Repo-Commit": commit["oid"],
            "ETag": f'"{oid}"',
            "Content-Length": str(size),
            "Accept-Ranges": "bytes",
        }
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers)
        ranged = re.fullmatch(r"bytes=(\d*)-(\d*)", request.headers.get("range", ""))
        if ranged:  # what streaming readers (HfFileSystem) ask for: part of the file
            start, end = ranged.groups()
            first = int(start) if start else max(size - int(end), 0)
            last = min(int(end), size - 1) if start and end else size - 1
            if first >= size:
                return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
            self.ranged_reads += 1
            headers.update({"Content-Range": f"bytes {first}-{last}/{size}", "Content-Length": str(last - first + 1)})
            body = self.blobs[oid][first : last + 1]
            return Response(body, status_code=206, headers=headers, media_type="application/octet-stream")
        return Response(self.blobs[oid], headers=headers, media_type="application/octet-stream")

    # -- test helpers ------------------------------------------------------------------------------
    def ask_access(self, repo_type: str, repo_id: str, user: str, fields: dict | None = None) -> None:
        """What the Hub's web form does when a user asks for access."""
        repo = self.repos[(repo_type, repo_id)]
        repo.requests[user] = {
            "status": "accepted" if repo.gated == "auto" else "pending",
            "timestamp": _now(),
            "fields": fields or {},
        }

    def seed_repo(self, repo_type: str, repo_id: str, files: dict[str, bytes], private: bool = False) -> Repo:
        """A repository holding `files` in one commit, as if pushed there before the test."""
        repo = Repo(repo_type, repo_id, private=private)
        stored = {path: self.store(data, lfs=path.endswith(".parquet")) for path, data in files.items()}
        self.add_commit(repo, stored, "upload data")
        self.repos[(repo_type, repo_id)] = repo
        return repo

    def tree_of(self, repo_type: str, repo_id: str, revision: str = "main") -> dict[str, tuple]:
        repo = self.repos[(repo_type, repo_id)]
        return dict(self.resolve_revision(repo, revision)["files"])

    def app(self) -> Starlette:
        repo = "/api/{type:str}/{ns:str}/{name:str}"
        return Starlette(
            routes=[
                Route("/api/whoami-v2", self.whoami),
                Route("/api/repos/create", self.create_repo, methods=["POST"]),
                Route("/api/validate-yaml", self.validate_yaml, methods=["POST"]),
                Route(repo, self.repo_info),
                Route(repo + "/revision/{rev:path}", self.repo_info),
                Route(repo + "/preupload/{rev:path}", self.preupload, methods=["POST"]),
                Route(repo + "/commit/{rev:path}", self.commit, methods=["POST"]),
                Route(repo + "/settings", self.settings, methods=["PUT"]),
                Route(repo + "/tag/{rev:path}", self.tag, methods=["POST"]),
                Route("/api/spaces/{ns:str}/{name:str}/{kind:str}", self.space_settings, methods=["POST", "DELETE"]),
                Route(repo + "/refs", self.refs),
                Route(repo + "/paths-info/{rev:path}", self.paths_info, methods=["POST"]),
                Route(repo + "/tree/{rev:str}", self.tree),
                Route(repo + "/tree/{rev:str}/{path:path}", self.tree),
                Route(repo + "/user-access-request/handle", self.access_handle, methods=["POST"]),
                Route(repo + "/user-access-request/grant", self.access_grant, methods=["POST"]),
                Route(repo + "/user-access-request/{status:str}", self.access_list),
                Route("/{ns:str}/{name:str}.git/info/lfs/objects/batch", self.lfs_batch, methods=["POST"]),
                Route("/{type:str}/{ns:str}/{name:str}.git/info/lfs/objects/batch", self.lfs_batch, methods=["POST"]),
                Route("/lfs-upload/{oid:str}", self.lfs_upload, methods=["PUT"]),
                Route(
                    "/{type:str}/{ns:str}/{name:str}/resolve/{rev:str}/{path:path}",
                    self.resolve,
                    methods=["GET", "HEAD"],
                ),
                Route("/{ns:str}/{name:str}/resolve/{rev:str}/{path:path}", self.resolve, methods=["GET", "HEAD"]),
            ]
        )


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


class RunningHub:
    """Serve a `FakeHub` on a free loopback port in a thread."""

    def __init__(self, hub: FakeHub):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        hub.url = f"http://127.0.0.1:{self.port}"
        self.hub = hub
        self.server = uvicorn.Server(uvicorn.Config(hub.app(), host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> FakeHub:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self.hub

    def __exit__(self, *exc) -> None:
        self.hub.released.set()
        self.server.should_exit = True
        self.thread.join(10)
