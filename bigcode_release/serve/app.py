"""A FastAPI app speaking Text Generation Inference's HTTP API (`/generate`, `/generate_stream` as
server-sent events, `/` with `stream`, `/info`, `/health`), OpenAI's `/v1/completions` and TGI's
Messages API `/v1/chat/completions` (through the tokenizer's chat template; 422 `template_error`
when it has none, as TGI).

Errors come back in TGI's shape, `{"error": ..., "error_type": ...}`, so `InferenceClient` raises
its typed errors: 422 `validation` for bad JSON, bad parameters or inputs that do not fit, 413 for
a body above the payload limit, 429 `overloaded` beyond the concurrent-request limit, 500
`generation` if the model fails. The server stays up whatever a request holds.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse

from bigcode_release.errors import ChatTemplateError, GenerationRequestError, ServerOverloadedError
from bigcode_release.serve.generator import Generation, TextGenerator
from bigcode_release.serve.protocol import (
    ChatCompletionRequest,
    CompletionRequest,
    GenerateParameters,
    GenerateRequest,
)

DEFAULT_PAYLOAD_LIMIT = 2_000_000  # TGI's --payload-limit default
DEFAULT_MAX_CONCURRENT = 32


def _error(status: int, message: str, error_type: str) -> JSONResponse:
    return JSONResponse({"error": message, "error_type": error_type}, status_code=status)


def _details(generation: Generation, with_prefill: bool) -> dict:
    return {
        "finish_reason": generation.finish_reason,
        "generated_tokens": len(generation.tokens),
        "seed": generation.seed,
        "prefill": [t.to_dict() for t in generation.prefill] if with_prefill else [],
        "tokens": [t.to_dict() for t in generation.tokens],
        "top_tokens": None,
        "best_of_sequences": None,
    }


def create_app(
    generator: TextGenerator,
    payload_limit: int = DEFAULT_PAYLOAD_LIMIT,
    max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT,
) -> FastAPI:
    """The HTTP app around `generator`."""
    app = FastAPI(title="bigcode-release serve", version="1", docs_url="/docs")
    slots = threading.BoundedSemaphore(max_concurrent_requests)

    def admitted() -> None:
        if not slots.acquire(blocking=False):
            raise ServerOverloadedError(f"Model is overloaded: more than {max_concurrent_requests} requests in flight")

    @app.middleware("http")
    async def payload_limit_guard(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > payload_limit:
            return _error(413, f"Payload too large: {length} bytes, the limit is {payload_limit}", "validation")
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'body'}: {e.get('msg')}" for e in exc.errors()
        )
        return _error(422, f"Input validation error: {problems}", "validation")

    @app.exception_handler(GenerationRequestError)
    async def invalid_input(request: Request, exc: GenerationRequestError) -> JSONResponse:
        return _error(422, f"Input validation error: {exc}", "validation")

    @app.exception_handler(ChatTemplateError)
    async def no_template(request: Request, exc: ChatTemplateError) -> JSONResponse:
        return _error(422, str(exc), "template_error")

    @app.exception_handler(ServerOverloadedError)
    async def overloaded(request: Request, exc: ServerOverloadedError) -> JSONResponse:
        return _error(429, str(exc), "overloaded")

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> JSONResponse:
        return _error(500, f"Request failed during generation: {type(exc).__name__}: {exc}", "generation")

    @app.get("/health")
    def health() -> Response:
        return Response(status_code=200)

    @app.get("/info")
    def info() -> dict:
        return {**generator.info(), "max_concurrent_requests": max_concurrent_requests}

    def generate_admitted(prompt: str, parameters: GenerateParameters) -> Generation:
        """One generation within the concurrent-request limit (429 beyond it)."""
        admitted()
        try:
            return generator.generate(prompt, parameters)
        finally:
            slots.release()

    def generate_response(body: GenerateRequest) -> dict:
        generation = generate_admitted(body.inputs, body.parameters)
        text = (body.inputs + generation.text) if body.parameters.return_full_text else generation.text
        answer = {"generated_text": text}
        if body.parameters.details:
            answer["details"] = _details(generation, body.parameters.decoder_input_details)
        return answer

    def stream_events(body: GenerateRequest) -> StreamingResponse:
        generator.prepare(body.inputs, body.parameters)  # refuse with a 422 before the stream starts
        admitted()

        def events() -> Iterator[str]:
            try:
                for index, (token, generation) in enumerate(generator.stream(body.inputs, body.parameters)):
                    final = generation.finish_reason is not None
                    event = {
                        "index": index,
                        "token": token.to_dict(),
                        "top_tokens": None,
                        "generated_text": generation.text if final else None,
                        "details": {
                            "finish_reason": generation.finish_reason,
                            "generated_tokens": len(generation.tokens),
                            "seed": generation.seed,
                            "input_length": generation.input_tokens,
                        }
                        if final
                        else None,
                    }
                    yield f"data:{json.dumps(event)}\n\n"
            except Exception as exc:  # noqa: BLE001 - reported in the stream, as TGI does
                yield f"data:{json.dumps({'error': str(exc), 'error_type': 'generation'})}\n\n"
            finally:
                slots.release()

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/generate")
    def generate(body: GenerateRequest) -> dict:
        return generate_response(body)

    @app.post("/generate_stream")
    def generate_stream(body: GenerateRequest) -> StreamingResponse:
        return stream_events(body)

    @app.post("/")
    def compat(body: GenerateRequest):
        """TGI's compatibility route: `stream` picks streaming; otherwise a one-element list."""
        return stream_events(body) if body.stream else [generate_response(body)]

    @app.post("/v1/completions")
    def completions(body: CompletionRequest):
        parameters = body.to_parameters(echo=body.echo)
        prompt: str = body.prompt  # a single prompt after validation
        created, completion_id = int(time.time()), f"cmpl-{uuid.uuid4().hex[:24]}"
        head = {"id": completion_id, "object": "text_completion", "created": created, "model": generator.model_id}
        if body.stream:
            return _openai_stream(generator, prompt, parameters, head, admitted, slots, chat=False)
        generation = generate_admitted(prompt, parameters)
        text = (prompt + generation.text) if body.echo else generation.text
        return {
            **head,
            "choices": [
                {"index": 0, "text": text, "logprobs": None, "finish_reason": _openai_reason(generation.finish_reason)}
            ],
            "usage": _usage(generation),
        }

    @app.post("/v1/chat/completions")
    def chat_completions(body: ChatCompletionRequest):
        """TGI's Messages API: the conversation through the tokenizer's chat template, one reply."""
        prompt = generator.chat_prompt([m.model_dump() for m in body.messages])
        parameters = body.to_parameters()
        created, completion_id = int(time.time()), f"chatcmpl-{uuid.uuid4().hex[:24]}"
        head = {"id": completion_id, "created": created, "model": generator.model_id, "system_fingerprint": "1"}
        if body.stream:
            return _openai_stream(generator, prompt, parameters, head, admitted, slots, chat=True)
        generation = generate_admitted(prompt, parameters)
        return {
            **head,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": generation.text},
                    "logprobs": None,
                    "finish_reason": _openai_reason(generation.finish_reason),
                }
            ],
            "usage": _usage(generation),
        }

    return app


def _usage(generation: Generation) -> dict:
    return {
        "prompt_tokens": generation.input_tokens,
        "completion_tokens": len(generation.tokens),
        "total_tokens": generation.input_tokens + len(generation.tokens),
    }


def _openai_reason(finish_reason: str | None) -> str:
    return "length" if finish_reason == "length" else "stop"


def _openai_stream(
    generator: TextGenerator,
    prompt: str,
    parameters: GenerateParameters,
    head: dict,
    admitted,
    slots: threading.BoundedSemaphore,
    chat: bool,
) -> StreamingResponse:
    """Server-sent events of OpenAI's streamed completions (`text`) or chat completions (`delta`)."""
    generator.prepare(prompt, parameters)
    admitted()
    head = {**head, "object": "chat.completion.chunk"} if chat else head

    def events() -> Iterator[str]:
        try:
            for token, generation in generator.stream(prompt, parameters):
                final = generation.finish_reason is not None
                text = token.text if token.id != generator.eos_token_id else ""
                choice = {
                    "index": 0,
                    **({"delta": {"role": "assistant", "content": text}} if chat else {"text": text}),
                    "logprobs": None,
                    "finish_reason": _openai_reason(generation.finish_reason) if final else None,
                }
                yield f"data: {json.dumps({**head, 'choices': [choice]})}\n\n"
            yield "data: [DONE]\n\n"
        finally:
            slots.release()

    return StreamingResponse(events(), media_type="text/event-stream")
