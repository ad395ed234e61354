"""The request bodies of Text Generation Inference's HTTP API (`/generate`, `/generate_stream`, `/`)
and of the OpenAI-style `/v1/completions` and `/v1/chat/completions`, as pydantic models. Checks that need the tokenizer
(input length) are made by the generator; everything else is refused here with a 422."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_STOP_SEQUENCES = 4  # TGI's default --max-stop-sequences
DEFAULT_MAX_NEW_TOKENS = 100


class GenerateParameters(BaseModel):
    """TGI's `parameters`. Unknown keys are ignored, as TGI does; `best_of` > 1 and grammars are refused."""

    model_config = ConfigDict(extra="ignore")

    max_new_tokens: int | None = Field(default=None, gt=0)
    do_sample: bool = False
    temperature: float | None = Field(default=None, gt=0)
    top_k: int | None = Field(default=None, gt=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    typical_p: float | None = Field(default=None, gt=0, lt=1)
    repetition_penalty: float | None = Field(default=None, gt=0)
    seed: int | None = Field(default=None, ge=0)
    stop: list[str] = Field(default_factory=list)
    truncate: int | None = Field(default=None, gt=0)
    return_full_text: bool | None = False
    details: bool = False
    decoder_input_details: bool = False
    best_of: int | None = Field(default=None, ge=1, le=1, description="only 1: this server generates one sequence")
    top_n_tokens: int | None = Field(default=None, ge=0, le=0, description="not supported (only 0)")
    grammar: None = Field(default=None, description="grammars are not supported")
    watermark: bool = False
    adapter_id: None = Field(default=None, description="the served adapter is chosen at start-up")

    @field_validator("stop")
    @classmethod
    def _few_stop_sequences(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_STOP_SEQUENCES:
            raise ValueError(f"at most {MAX_STOP_SEQUENCES} stop sequences, got {len(value)}")
        if any(not s for s in value):
            raise ValueError("a stop sequence cannot be empty")
        return value

    @property
    def sampling(self) -> bool:
        """Sample when asked, or when a sampling setting other than its neutral value is given (as TGI)."""
        return (
            self.do_sample
            or (self.temperature is not None and self.temperature != 1.0)
            or self.top_k is not None
            or (self.top_p is not None and self.top_p < 1.0)
            or self.typical_p is not None
        )


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    inputs: str = Field(min_length=1)
    parameters: GenerateParameters = Field(default_factory=GenerateParameters)
    stream: bool = False


class _OpenAIRequest(BaseModel):
    """What OpenAI's completions and chat completions requests share (the subset a
    single-sequence server can honour)."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    max_tokens: int | None = Field(default=16, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=0)
    stream: bool = False
    n: Literal[1] = 1

    def to_parameters(self, echo: bool = False) -> GenerateParameters:
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        sampling = self.temperature is not None and self.temperature > 0
        return GenerateParameters(
            max_new_tokens=self.max_tokens,
            do_sample=sampling,
            temperature=self.temperature if sampling else None,
            top_p=self.top_p if sampling else None,
            seed=self.seed,
            stop=stop,
            return_full_text=echo,
            details=True,
        )


class CompletionRequest(_OpenAIRequest):
    """OpenAI's completions request."""

    prompt: str | list[str]
    echo: bool = False

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, value: str | list[str]) -> str:
        if isinstance(value, list):
            if len(value) != 1:
                raise ValueError(f"exactly one prompt is supported, got {len(value)}")
            value = value[0]
        if not value:
            raise ValueError("the prompt is empty")
        return value


class ChatMessage(BaseModel):
    """A message; content as text or as OpenAI's list of parts (the text parts are joined)."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "tool"]
    content: str

    @field_validator("content", mode="before")
    @classmethod
    def _text_parts(cls, value):
        if isinstance(value, list):
            if any(not isinstance(part, dict) or part.get("type") != "text" for part in value):
                raise ValueError("only text content parts are supported")
            return "".join(str(part.get("text", "")) for part in value)
        return value


class ChatCompletionRequest(_OpenAIRequest):
    """OpenAI's chat completions request, as TGI's Messages API takes it (`max_tokens` unset: up to
    the model's limit)."""

    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, gt=0)
