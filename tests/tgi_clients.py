"""Every text-generation call of TGI's own `text-generation` client and of the `openai` client,
against a running `serve`; prints one JSON object of what each call gave (or the error it raised).

Runs in .venv-clients (scripts/clients-venv.sh), not the project's venv: `text-generation` pins
huggingface_hub<1.

    .venv-clients/bin/python tests/tgi_clients.py URL PROMPT
"""

from __future__ import annotations

import asyncio
import json
import sys


def _error(exc: Exception) -> dict:
    body = getattr(exc, "body", None)
    return {
        "error": type(exc).__name__,
        "status": getattr(exc, "status_code", None),
        "message": str(exc)[:300],
        "body": body if isinstance(body, (dict, str)) else None,
    }


def _call(function) -> dict:
    try:
        return function()
    except Exception as exc:  # the error is the result: the test checks it is the documented one
        return _error(exc)


def text_generation_calls(url: str, prompt: str) -> dict:
    from text_generation import AsyncClient, Client

    client = Client(url, timeout=60)

    def detailed() -> dict:
        answer = client.generate(prompt, max_new_tokens=40, decoder_input_details=True)
        details = answer.details
        return {
            "text": answer.generated_text,
            "finish_reason": str(details.finish_reason.value),
            "generated_tokens": details.generated_tokens,
            "tokens": len(details.tokens),
            "prefill": len(details.prefill),
        }

    def streamed() -> dict:
        responses = list(client.generate_stream(prompt, max_new_tokens=40))
        last = responses[-1]
        return {
            "text": "".join(r.token.text for r in responses if not r.token.special),
            "generated_text": last.generated_text,
            "finish_reason": str(last.details.finish_reason.value),
        }

    async def asynchronous() -> dict:
        async_client = AsyncClient(url, timeout=60)
        answer = await async_client.generate(prompt, max_new_tokens=40)
        pieces = [r async for r in async_client.generate_stream(prompt, max_new_tokens=40)]
        return {"text": answer.generated_text, "streamed": pieces[-1].generated_text}

    return {
        "generate": _call(lambda: {"text": client.generate(prompt, max_new_tokens=40).generated_text}),
        "generate_details": _call(detailed),
        "generate_best_of_2": _call(
            lambda: client.generate(prompt, max_new_tokens=8, best_of=2, do_sample=True).generated_text
        ),
        "generate_stream": _call(streamed),
        "async": _call(lambda: asyncio.run(asynchronous())),
    }


def openai_calls(url: str, prompt: str) -> dict:
    from openai import OpenAI

    client = OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    messages = [{"role": "user", "content": prompt}]

    def completion() -> dict:
        answer = client.completions.create(model="served", prompt=prompt, max_tokens=40)
        return {"text": answer.choices[0].text, "finish_reason": answer.choices[0].finish_reason}

    def completion_stream() -> dict:
        chunks = list(client.completions.create(model="served", prompt=prompt, max_tokens=40, stream=True))
        return {
            "text": "".join(c.choices[0].text for c in chunks),
            "finish_reason": chunks[-1].choices[0].finish_reason,
        }

    def chat() -> dict:
        answer = client.chat.completions.create(model="served", messages=messages, max_tokens=40)
        return {"text": answer.choices[0].message.content, "finish_reason": answer.choices[0].finish_reason}

    def chat_stream() -> dict:
        chunks = list(client.chat.completions.create(model="served", messages=messages, max_tokens=40, stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        return {"text": text, "finish_reason": chunks[-1].choices[0].finish_reason}

    return {
        "completions": _call(completion),
        "completions_stream": _call(completion_stream),
        "chat": _call(chat),
        "chat_stream": _call(chat_stream),
    }


if __name__ == "__main__":
    url, prompt = sys.argv[1], sys.argv[2]
    print(json.dumps({"text_generation": text_generation_calls(url, prompt), "openai": openai_calls(url, prompt)}))
