"""Run the TGI-protocol app with uvicorn."""

from __future__ import annotations

from pathlib import Path

from bigcode_release.serve.app import DEFAULT_MAX_CONCURRENT, DEFAULT_PAYLOAD_LIMIT, create_app
from bigcode_release.serve.generator import TextGenerator


def serve(
    model_dir: str | Path,
    adapter_dir: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    model_id: str | None = None,
    max_total_tokens: int | None = None,
    max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT,
    payload_limit: int = DEFAULT_PAYLOAD_LIMIT,
    on_ready=None,
) -> None:
    """Load the model (merging `adapter_dir` if given) and serve it until interrupted."""
    import uvicorn

    generator = TextGenerator(model_dir, adapter_dir, model_id=model_id, max_total_tokens=max_total_tokens)
    app = create_app(generator, payload_limit=payload_limit, max_concurrent_requests=max_concurrent_requests)
    if on_ready is not None:
        on_ready(generator)
    uvicorn.run(app, host=host, port=port, log_level="warning")
