"""The attribution endpoint the VS Code extension (llm-vscode) calls: `POST /overlap` with
`{"document": text}` answers `{"spans": [[start, end], ...]}` in character offsets of the document,
with our provenance beside them (`sources`, `licenses`, `coverage`, `notice`). A bad request gets a
4xx with `{"error"}`; the server stays up."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from bigcode_release.errors import DataIndexError
from bigcode_release.index.attribution import DEFAULT_MIN_BYTES, MembershipIndex

MAX_BODY_BYTES = 2_000_000


class OverlapRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    document: str
    min_bytes: int = DEFAULT_MIN_BYTES


def create_overlap_app(index: MembershipIndex) -> FastAPI:
    app = FastAPI(title="bigcode-release membership", docs_url="/docs")

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return JSONResponse({"error": f"body of {length} bytes; the limit is {MAX_BODY_BYTES}"}, status_code=413)
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": 'expected a JSON object {"document": "..."}'}, status_code=422)

    @app.exception_handler(DataIndexError)
    async def refused(request: Request, exc: DataIndexError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.get("/health")
    def health() -> dict:
        return {"dataset_version": index.dataset_version}

    @app.post("/overlap")
    def overlap(body: OverlapRequest) -> dict:
        if not body.document.strip():
            return {"spans": [], "sources": [], "licenses": {}, "coverage": 0.0, "notice": ""}
        result = index.attribute(body.document, min_bytes=body.min_bytes).to_dict()
        return {
            "spans": [[s["start"], s["end"]] for s in result["spans"]],
            "sources": [s["sources"] for s in result["spans"]],
            "licenses": result["licenses"],
            "coverage": result["coverage"],
            "notice": result["notice"],
            "dataset_version": result["dataset_version"],
        }

    return app
