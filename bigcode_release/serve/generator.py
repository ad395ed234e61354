"""Token-by-token generation with a transformers causal LM (and optionally a PEFT adapter), as a TGI
server does it: input validation against the context size, greedy or seeded sampling, stop
sequences checked on the decoded text, per-token log-probabilities, streaming."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bigcode_release.errors import ChatTemplateError, GenerationRequestError, ServingError
from bigcode_release.serve.protocol import DEFAULT_MAX_NEW_TOKENS, GenerateParameters


@dataclass
class Token:
    id: int
    text: str
    logprob: float | None
    special: bool

    def to_dict(self) -> dict:
        return {"id": self.id, "text": self.text, "logprob": self.logprob, "special": self.special}


@dataclass
class Generation:
    """What one request produced; `tokens` grows while streaming."""

    prompt: str
    prefill: list[Token] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    text: str = ""
    finish_reason: str | None = None
    seed: int | None = None

    @property
    def input_tokens(self) -> int:
        return len(self.prefill)


class TextGenerator:
    """One model on one device; requests run one at a time (`lock`), each with its own RNG."""

    def __init__(
        self,
        model_dir: str | Path,
        adapter_dir: str | Path | None = None,
        model_id: str | None = None,
        max_total_tokens: int | None = None,
    ):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model_dir = Path(model_dir)
        if not (model_dir / "config.json").is_file():
            raise ServingError(f"{model_dir}: not a transformers model folder (no config.json)")
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
        if adapter_dir is not None:
            from peft import PeftModel

            if not (Path(adapter_dir) / "adapter_config.json").is_file():
                raise ServingError(f"{adapter_dir}: not a PEFT adapter folder (no adapter_config.json)")
            model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
        self.model = model.to(self.device).eval()
        positions = getattr(self.model.config, "max_position_embeddings", None) or 2048
        self.max_total_tokens = min(max_total_tokens or positions, positions)
        self.max_input_tokens = self.max_total_tokens - 1
        self.model_id = model_id or model_dir.resolve().name
        self.adapter = str(adapter_dir) if adapter_dir else None
        self.eos_token_id = self.tokenizer.eos_token_id
        self.special_ids = set(self.tokenizer.all_special_ids)
        self.lock = threading.Lock()

    def info(self) -> dict:
        """TGI's `/info` fields."""
        return {
            "model_id": self.model_id,
            "model_sha": None,
            "model_dtype": str(self.model.dtype),
            "model_device_type": self.device,
            "model_pipeline_tag": "text-generation",
            "max_best_of": 1,
            "max_stop_sequences": 4,
            "max_input_tokens": self.max_input_tokens,
            "max_input_length": self.max_input_tokens,
            "max_total_tokens": self.max_total_tokens,
            "max_client_batch_size": 1,
            "router": "bigcode-release serve",
            "version": "1",
            "adapter": self.adapter,
            "eos_token": self.tokenizer.eos_token,
        }

    def chat_prompt(self, messages: list[dict]) -> str:
        """The prompt of a conversation, from the tokenizer's chat template, ready for the reply."""
        if not getattr(self.tokenizer, "chat_template", None):
            raise ChatTemplateError("Template error: template not found")
        try:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except Exception as exc:  # a template that fails on these messages (jinja raises its own errors)
            raise ChatTemplateError(f"Template error: {exc}") from exc

    def prepare(self, prompt: str, parameters: GenerateParameters) -> tuple[list[int], int]:
        """The input ids (truncated if asked) and the number of new tokens; refuses what cannot fit."""
        ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        if parameters.truncate is not None:
            ids = ids[-parameters.truncate :]
        if not ids:
            raise GenerationRequestError("`inputs` tokenizes to nothing")
        if len(ids) > self.max_input_tokens:
            raise GenerationRequestError(
                f"`inputs` must have less than {self.max_input_tokens + 1} tokens. Given: {len(ids)}"
            )
        max_new = parameters.max_new_tokens or min(DEFAULT_MAX_NEW_TOKENS, self.max_total_tokens - len(ids))
        if len(ids) + max_new > self.max_total_tokens:
            raise GenerationRequestError(
                f"`inputs` tokens + `max_new_tokens` must be <= {self.max_total_tokens}. "
                f"Given: {len(ids)} `inputs` tokens and {max_new} `max_new_tokens`"
            )
        return ids, max_new

    def stream(self, prompt: str, parameters: GenerateParameters) -> Iterator[tuple[Token, Generation]]:
        """Yield each new token with the generation so far; the last has `finish_reason` set."""
        ids, max_new = self.prepare(prompt, parameters)
        with self.lock, torch.inference_mode():
            yield from self._decode(prompt, ids, max_new, parameters)

    def generate(self, prompt: str, parameters: GenerateParameters) -> Generation:
        generation = None
        for _, generation in self.stream(prompt, parameters):  # noqa: B007 - the last one is the answer
            pass
        return generation

    def _decode(
        self, prompt: str, ids: list[int], max_new: int, parameters: GenerateParameters
    ) -> Iterator[tuple[Token, Generation]]:
        seed = parameters.seed if parameters.seed is not None else random.randrange(2**63)
        rng = torch.Generator(device=self.device).manual_seed(seed)
        warpers = _warpers(parameters)
        input_ids = torch.tensor([ids], device=self.device)
        output = self.model(input_ids=input_ids, use_cache=True)
        generation = Generation(prompt=prompt, seed=seed if parameters.sampling else None)
        if parameters.decoder_input_details:
            generation.prefill = self._prefill(ids, output.logits[0])
        else:
            generation.prefill = [Token(i, "", None, i in self.special_ids) for i in ids]
        generated: list[int] = []
        decoded = ""
        past, logits = output.past_key_values, output.logits[0, -1]
        for step in range(max_new):
            log_probs = torch.log_softmax(logits.float(), dim=-1)
            scores = warpers(torch.tensor([ids + generated], device=self.device), logits[None].float())[0]
            if parameters.sampling:
                next_id = int(torch.multinomial(torch.softmax(scores, dim=-1), 1, generator=rng))
            else:
                next_id = int(scores.argmax())
            generated.append(next_id)
            special = next_id in self.special_ids
            if next_id == self.eos_token_id:
                token = Token(next_id, "", float(log_probs[next_id]), True)
                generation.finish_reason = "eos_token"
            else:
                text = self.tokenizer.decode(generated, skip_special_tokens=False, clean_up_tokenization_spaces=False)
                piece = "" if text.endswith("\ufffd") else text[len(decoded) :]  # wait for a whole character
                decoded = text if piece else decoded
                token = Token(next_id, piece, float(log_probs[next_id]), special)
                generation.text = decoded
                stop_at = _stop_position(decoded, parameters.stop)
                if stop_at is not None:
                    generation.text = decoded[:stop_at]
                    generation.finish_reason = "stop_sequence"
                elif step == max_new - 1:
                    generation.finish_reason = "length"
            generation.tokens.append(token)
            yield token, generation
            if generation.finish_reason:
                return
            output = self.model(
                input_ids=torch.tensor([[next_id]], device=self.device), past_key_values=past, use_cache=True
            )
            past, logits = output.past_key_values, output.logits[0, -1]

    def _prefill(self, ids: list[int], logits: torch.Tensor) -> list[Token]:
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        tokens = [Token(ids[0], self.tokenizer.decode([ids[0]]), None, ids[0] in self.special_ids)]
        for position, token_id in enumerate(ids[1:]):
            tokens.append(
                Token(
                    token_id,
                    self.tokenizer.decode([token_id]),
                    float(log_probs[position, token_id]),
                    token_id in self.special_ids,
                )
            )
        return tokens


def _stop_position(text: str, stops: list[str]) -> int | None:
    """The end of the earliest stop sequence in `text`, or None."""
    ends = [text.find(stop) + len(stop) for stop in stops if stop in text]
    return min(ends) if ends else None


def _warpers(parameters: GenerateParameters):
    from transformers.generation.logits_process import (
        LogitsProcessorList,
        RepetitionPenaltyLogitsProcessor,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
        TypicalLogitsWarper,
    )

    steps = LogitsProcessorList()
    if parameters.repetition_penalty not in (None, 1.0):
        steps.append(RepetitionPenaltyLogitsProcessor(parameters.repetition_penalty))
    if parameters.sampling:
        if parameters.temperature not in (None, 1.0):
            steps.append(TemperatureLogitsWarper(parameters.temperature))
        if parameters.top_k is not None:
            steps.append(TopKLogitsWarper(parameters.top_k))
        if parameters.top_p is not None and parameters.top_p < 1.0:
            steps.append(TopPLogitsWarper(parameters.top_p))
        if parameters.typical_p is not None:
            steps.append(TypicalLogitsWarper(parameters.typical_p))
    return steps
