"""`serve` speaks TGI's protocol to the real `InferenceClient` (plain, details, streaming), OpenAI's
completions, survives malformed and concurrent requests; `complete` fills in the middle only."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from huggingface_hub import InferenceClient
from huggingface_hub.errors import ValidationError

from bigcode_release.errors import ServingError
from bigcode_release.serve.client import CodeCompleter, fim_prompt, middle_only
from tests.conftest import REPO_ROOT, run_cli
from tests.serving import free_port, served
from tests.tiny_models import memorise, save_checkpoint_folder, tiny_llama, tokenizer_for

pytestmark = pytest.mark.slow

PLAIN = ("def add(a, b):", "\n    return a + b\n")
# a model that ends the middle with end-of-text
FIM = ("def area(width, height):\n    ", "\n\n\nprint(area(2, 3))\n", "return width * height")
# a model that writes the suffix again after the middle: the client must cut it
FIM_RUNS_ON = ("def greet(name):\n    ", "\n\n\ngreet('world')\n", "print('hello', name)")


def tgi(url: str) -> InferenceClient:
    return InferenceClient(model=url, provider="hf-inference")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    pairs = [
        PLAIN,
        (fim_prompt(FIM[0], FIM[1]), FIM[2]),
        (fim_prompt(FIM_RUNS_ON[0], FIM_RUNS_ON[1]), FIM_RUNS_ON[2] + FIM_RUNS_ON[1]),
    ]
    tokenizer = tokenizer_for([p + c for p, c in pairs] * 4, 300)
    model = tiny_llama(tokenizer.get_vocab_size(), max_positions=256)
    memorise(model, tokenizer, pairs)
    return save_checkpoint_folder(model, tokenizer, tmp_path_factory.mktemp("served") / "model")


@pytest.fixture(scope="module")
def url(model_dir) -> str:
    with served(model_dir, "--max-concurrent-requests", "16") as address:
        yield address


def test_info_and_health(url):
    info = tgi(url).get_endpoint_info()
    assert info["model_id"] == "model" and info["max_total_tokens"] == 256 and info["max_input_tokens"] == 255
    assert httpx.get(f"{url}/health").status_code == 200


def test_text_generation_plain_details_and_stream_agree(url):
    client = tgi(url)
    text = client.text_generation(PLAIN[0], max_new_tokens=40)
    assert text == PLAIN[1]
    detailed = client.text_generation(PLAIN[0], max_new_tokens=40, details=True, decoder_input_details=True)
    assert detailed.generated_text == PLAIN[1] and detailed.details.finish_reason == "eos_token"
    assert detailed.details.generated_tokens == len(detailed.details.tokens)
    assert all(t.logprob <= 0 for t in detailed.details.tokens) and detailed.details.prefill[0].logprob is None
    assert "".join(t.text for t in detailed.details.tokens) == PLAIN[1]
    streamed = list(client.text_generation(PLAIN[0], max_new_tokens=40, stream=True))
    assert "".join(streamed) == PLAIN[1]
    events = list(client.text_generation(PLAIN[0], max_new_tokens=40, stream=True, details=True))
    assert events[-1].generated_text == PLAIN[1] and events[-1].details.finish_reason == "eos_token"
    assert all(e.generated_text is None for e in events[:-1])
    short = client.text_generation(PLAIN[0], max_new_tokens=2, details=True)
    assert short.details.finish_reason == "length" and short.details.generated_tokens == 2
    stopped = client.text_generation(PLAIN[0], max_new_tokens=40, stop=["return"], details=True)
    assert stopped.generated_text == "\n    return" and stopped.details.finish_reason == "stop_sequence"
    full = client.text_generation(PLAIN[0], max_new_tokens=40, return_full_text=True)
    assert full == PLAIN[0] + PLAIN[1]


def test_sampling_is_seeded(url):
    client = tgi(url)
    first = client.text_generation("def", max_new_tokens=12, do_sample=True, temperature=1.5, seed=7, details=True)
    again = client.text_generation("def", max_new_tokens=12, do_sample=True, temperature=1.5, seed=7, details=True)
    assert first.generated_text == again.generated_text and first.details.seed == 7


def test_openai_completions_plain_and_streamed(url):
    answer = httpx.post(f"{url}/v1/completions", json={"model": "model", "prompt": PLAIN[0], "max_tokens": 40}).json()
    assert answer["object"] == "text_completion" and answer["choices"][0]["text"] == PLAIN[1]
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"]["total_tokens"] == answer["usage"]["prompt_tokens"] + answer["usage"]["completion_tokens"]
    with httpx.stream(
        "POST", f"{url}/v1/completions", json={"prompt": PLAIN[0], "max_tokens": 40, "stream": True}
    ) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert "".join(c["choices"][0]["text"] for c in chunks) == PLAIN[1]
    length = httpx.post(f"{url}/v1/completions", json={"prompt": PLAIN[0], "max_tokens": 2}).json()
    assert length["choices"][0]["finish_reason"] == "length"


def test_eight_concurrent_requests_are_all_answered(url):
    client = tgi(url)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: client.text_generation(PLAIN[0], max_new_tokens=40), range(8)))
    assert answers == [PLAIN[1]] * 8


def test_malformed_requests_get_4xx_and_the_server_stays_up(url):
    bad_json = httpx.post(
        f"{url}/generate", content=b'{"inputs": "def", "parameters": {', headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 422 and bad_json.json()["error_type"] == "validation"
    negative = httpx.post(f"{url}/generate", json={"inputs": "def", "parameters": {"max_new_tokens": -5}})
    assert negative.status_code == 422 and "max_new_tokens" in negative.json()["error"]
    with pytest.raises(ValidationError, match="max_new_tokens"):
        tgi(url).text_generation("def", max_new_tokens=-5)
    huge = httpx.post(
        f"{url}/generate", json={"inputs": "x = 1\n" * 175_000, "parameters": {"max_new_tokens": 4}}, timeout=60
    )
    assert huge.status_code == 422 and "must have less than 256 tokens" in huge.json()["error"]
    too_big = httpx.post(f"{url}/generate", json={"inputs": "y" * 3_000_000}, timeout=60)
    assert too_big.status_code == 413
    for body in (
        {},
        {"inputs": ""},
        {"inputs": "def", "parameters": {"top_p": 2}},
        {"inputs": "def", "parameters": {"best_of": 3}},
        {"inputs": "def", "parameters": {"stop": ["a"] * 5}},
        {"inputs": "def", "parameters": {"max_new_tokens": 10_000}},
    ):
        assert httpx.post(f"{url}/generate", json=body).status_code == 422, body
    assert httpx.post(f"{url}/v1/completions", json={"prompt": ["a", "b"]}).status_code == 422
    assert httpx.post(f"{url}/generate_stream", json={"inputs": "x" * 5000}).status_code == 422
    assert tgi(url).text_generation(PLAIN[0], max_new_tokens=40) == PLAIN[1]


def test_fill_in_the_middle_returns_the_middle_only(url):
    completer = CodeCompleter(url)
    assert completer.fill_in_the_middle(FIM[0], FIM[1], max_new_tokens=40) == FIM[2]
    raw = completer.client.text_generation(fim_prompt(FIM_RUNS_ON[0], FIM_RUNS_ON[1]), max_new_tokens=60)
    assert FIM_RUNS_ON[1].strip() in raw  # the model writes the suffix again...
    assert completer.fill_in_the_middle(FIM_RUNS_ON[0], FIM_RUNS_ON[1], max_new_tokens=60) == FIM_RUNS_ON[2]
    result = run_cli("complete", FIM[0], "--suffix", FIM[1], "--endpoint", url, "--json")
    assert json.loads(result.stdout) == {"endpoint": url, "mode": "fim", "completion": FIM[2]}
    streamed = run_cli("complete", PLAIN[0], "--endpoint", url, "--stream")
    assert streamed.stdout == PLAIN[1] + "\n"


def test_middle_only_cuts_at_stop_tokens_and_a_repeated_suffix():
    assert middle_only("x + 1<|endoftext|>junk", "\nreturn y\n") == "x + 1"
    assert middle_only("x + 1\nreturn y\nmore", "\nreturn y\n") == "x + 1"
    assert middle_only("x + 1\n\n    return y  # changed", "\n\n    return y\n") == "x + 1"
    assert middle_only("x + 1", "") == "x + 1" and middle_only("x = [1]", "]") == "x = [1]"
    assert middle_only("x + 1<file_sep>other.py", "") == "x + 1"


def test_unreachable_and_wrong_endpoints_get_clear_errors(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServingError, match=f"endpoint {closed}: unreachable"):
        CodeCompleter(closed).complete("def")
    with pytest.raises(ServingError, match=f"endpoint {closed}: no TGI /info answer"):
        CodeCompleter(closed).info()
    (tmp_path / "info").write_text("not json")
    port = free_port()
    files = subprocess.Popen(
        ["python3", "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        threading.Event().wait(1.0)
        wrong = f"http://127.0.0.1:{port}"
        with pytest.raises(ServingError, match=f"endpoint {wrong}"):
            CodeCompleter(wrong).complete("def")
        with pytest.raises(ServingError, match=f"endpoint {wrong}: no TGI /info answer"):
            CodeCompleter(wrong).info()
    finally:
        files.terminate()
        files.wait()
    result = run_cli("complete", "def", "--endpoint", "ftp://nowhere", check=False)
    assert result.returncode == 2 and "expected an http(s) URL" in result.stderr


CLIENTS_PYTHON = REPO_ROOT / ".venv-clients" / "bin" / "python"


def client_calls(url: str, prompt: str) -> dict:
    """What TGI's `text-generation` client and `openai` got from each of their calls (tests/tgi_clients.py)."""
    assert CLIENTS_PYTHON.is_file(), "the clients' venv is missing: run bash scripts/clients-venv.sh"
    result = subprocess.run(
        [str(CLIENTS_PYTHON), str(REPO_ROOT / "tests" / "tgi_clients.py"), url, prompt],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def chat_url(model_dir, tmp_path_factory) -> str:
    """The same model with a chat template that shows the conversation's text as it is."""
    folder = tmp_path_factory.mktemp("chat") / "model"
    shutil.copytree(model_dir, folder)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["chat_template"] = "{% for message in messages %}{{ message['content'] }}{% endfor %}"
    config_path.write_text(json.dumps(config))
    with served(folder) as address:
        yield address


def test_tgis_own_client_and_openais_get_answers_or_tgis_documented_errors(url):
    calls = client_calls(url, PLAIN[0])
    tgi_calls, openai_calls = calls["text_generation"], calls["openai"]
    assert tgi_calls["generate"] == {"text": PLAIN[1]}
    detailed = tgi_calls["generate_details"]
    assert detailed["text"] == PLAIN[1] and detailed["finish_reason"] == "eos_token"
    assert detailed["generated_tokens"] == detailed["tokens"] and detailed["prefill"] > 0
    # /info says max_best_of 1: TGI's validation error, which the client raises as its ValidationError
    assert tgi_calls["generate_best_of_2"]["error"] == "ValidationError"
    streamed = tgi_calls["generate_stream"]
    assert streamed["generated_text"] == PLAIN[1] and streamed["text"] == PLAIN[1]
    assert tgi_calls["async"] == {"text": PLAIN[1], "streamed": PLAIN[1]}
    assert openai_calls["completions"] == {"text": PLAIN[1], "finish_reason": "stop"}
    assert openai_calls["completions_stream"] == {"text": PLAIN[1], "finish_reason": "stop"}
    # no chat template: TGI answers 422 template_error, which openai raises as UnprocessableEntityError
    for call in ("chat", "chat_stream"):
        assert openai_calls[call]["error"] == "UnprocessableEntityError" and openai_calls[call]["status"] == 422
        assert openai_calls[call]["body"] == "Template error: template not found"  # openai keeps the "error" field
    refused = httpx.post(f"{url}/v1/chat/completions", json={"messages": [{"role": "user", "content": PLAIN[0]}]})
    assert refused.status_code == 422
    assert refused.json() == {"error": "Template error: template not found", "error_type": "template_error"}


def test_chat_completions_go_through_the_tokenizers_chat_template(chat_url):
    openai_calls = client_calls(chat_url, PLAIN[0])["openai"]
    assert openai_calls["chat"] == {"text": PLAIN[1], "finish_reason": "stop"}
    assert openai_calls["chat_stream"] == {"text": PLAIN[1], "finish_reason": "stop"}
    answer = httpx.post(f"{chat_url}/v1/chat/completions", json={"messages": [{"role": "user", "content": PLAIN[0]}]})
    body = answer.json()
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["role"] == "assistant"
    refused = httpx.post(f"{chat_url}/v1/chat/completions", json={"messages": []})
    assert refused.status_code == 422 and refused.json()["error_type"] == "validation"
