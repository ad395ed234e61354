"""Completions from any TGI-protocol endpoint with `huggingface_hub.InferenceClient`: plain,
streamed, and fill-in-the-middle (StarCoder's `<fim_prefix>P<fim_suffix>S<fim_middle>` prompt,
whose answer is the middle only)."""

from __future__ import annotations

from collections.abc import Iterator

from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError, TextGenerationError

from bigcode_release.errors import ServingError
from bigcode_release.tokenizer.special_tokens import END_OF_TEXT, FILE_SEP, FIM_MIDDLE, FIM_PAD, FIM_PREFIX, FIM_SUFFIX

# Tokens after which a code model's completion is over: its end-of-text (which the server ends on)
# and the file/FIM markers a FIM-trained model emits when it starts another segment. The first
# four go to the server as stop sequences (TGI accepts four); all are cut from the text.
STOP_TOKENS = (FILE_SEP, FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, FIM_PAD, END_OF_TEXT)


def fim_prompt(prefix: str, suffix: str) -> str:
    """StarCoder's PSM prompt: the model writes the middle after `<fim_middle>`."""
    return f"{FIM_PREFIX}{prefix}{FIM_SUFFIX}{suffix}{FIM_MIDDLE}"


def strip_stop_tokens(text: str) -> str:
    """The text up to the first stop token."""
    cut = min((i for i in (text.find(t) for t in STOP_TOKENS) if i != -1), default=len(text))
    return text[:cut]


def middle_only(generated: str, suffix: str) -> str:
    """The generated middle, cut where the model starts writing the suffix again (a model that
    does not end the middle with end-of-text often continues into the suffix it was shown)."""
    middle = strip_stop_tokens(generated)
    if len(suffix.strip()) < 4:  # too short to tell a repeat from ordinary code
        return middle
    if suffix in middle:
        return middle[: middle.index(suffix)]
    first_line = suffix.lstrip().split("\n", 1)[0]
    if len(first_line.strip()) >= 4 and first_line in middle:
        middle = middle[: middle.index(first_line)]
        lead = suffix[: len(suffix) - len(suffix.lstrip())]  # the suffix brings its own leading whitespace
        middle = middle[: -len(lead)] if lead and middle.endswith(lead) else middle.rstrip(" \t")
    return middle


class CodeCompleter:
    """A TGI-protocol endpoint for code completion; every failure is a `ServingError` naming it."""

    def __init__(self, endpoint: str, timeout: float = 120.0):
        if not endpoint.startswith(("http://", "https://")):
            raise ServingError(f"endpoint {endpoint!r}: expected an http(s) URL")
        self.endpoint = endpoint.rstrip("/")
        self.client = InferenceClient(model=self.endpoint, provider="hf-inference", timeout=timeout)

    def info(self) -> dict:
        try:
            info = self.client.get_endpoint_info()
        except Exception as exc:  # noqa: BLE001 - connection refused, DNS, HTTP, not JSON
            raise ServingError(f"endpoint {self.endpoint}: no TGI /info answer ({type(exc).__name__}: {exc})") from None
        if not isinstance(info, dict) or "model_id" not in info:
            raise ServingError(f"endpoint {self.endpoint}: /info has no model_id; is it a TGI server?")
        return info

    def _call(self, prompt: str, stream: bool, max_new_tokens: int, temperature: float, seed: int | None):
        sampling = temperature > 0
        try:
            return self.client.text_generation(
                prompt,
                max_new_tokens=max_new_tokens,
                stream=stream,
                stop=list(STOP_TOKENS[:4]),
                do_sample=sampling,
                temperature=temperature if sampling else None,
                seed=seed,
            )
        except (HfHubHTTPError, TextGenerationError) as exc:
            raise ServingError(f"endpoint {self.endpoint}: {type(exc).__name__}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - transport errors
            raise ServingError(f"endpoint {self.endpoint}: unreachable ({type(exc).__name__}: {exc})") from None

    def complete(
        self, prompt: str, max_new_tokens: int = 128, temperature: float = 0.0, seed: int | None = None
    ) -> str:
        """The continuation of `prompt`, up to the model's stop tokens."""
        return strip_stop_tokens(self._call(prompt, False, max_new_tokens, temperature, seed))

    def stream(
        self, prompt: str, max_new_tokens: int = 128, temperature: float = 0.0, seed: int | None = None
    ) -> Iterator[str]:
        """The continuation piece by piece as the server generates it (stop tokens left out)."""
        pieces = self._call(prompt, True, max_new_tokens, temperature, seed)
        emitted = ""
        try:
            for piece in pieces:
                combined = emitted + piece
                text = strip_stop_tokens(combined)
                if len(text) > len(emitted):
                    yield text[len(emitted) :]
                if len(text) < len(combined):  # a stop token began in this piece
                    return
                emitted = text
        except (HfHubHTTPError, TextGenerationError) as exc:
            raise ServingError(f"endpoint {self.endpoint}: {type(exc).__name__}: {exc}") from None

    def fill_in_the_middle(
        self, prefix: str, suffix: str, max_new_tokens: int = 128, temperature: float = 0.0, seed: int | None = None
    ) -> str:
        """The code between `prefix` and `suffix`: the middle only, never the suffix."""
        generated = self._call(fim_prompt(prefix, suffix), False, max_new_tokens, temperature, seed)
        return middle_only(generated, suffix)
