"""Tiny transformers causal LMs for tests: a byte-level BPE trained on a few texts and a small
Llama, optionally trained until it reproduces given texts greedily (so an evaluation has a known
right answer), saved as a checkpoint folder like the torch engine writes."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from bigcode_release.tokenizer.special_tokens import END_OF_TEXT
from bigcode_release.tokenizer.training import save_transformers_tokenizer, train_bpe


def tiny_llama(vocab_size: int, hidden: int = 64, layers: int = 2, seed: int = 0, max_positions: int = 1024):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=hidden * 3,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        bos_token_id=0,
        eos_token_id=0,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(config)


def memorise(model, tokenizer, pairs: list[tuple[str, str]], max_steps: int = 800, lr: float = 3e-3) -> int:
    """Train on each `prompt + completion` (then end-of-text) until, given the prompt, greedy
    decoding gives the completion and end-of-text; returns the steps taken (raises after `max_steps`)."""
    eos = tokenizer.token_to_id(END_OF_TEXT)
    rows, starts = [], []
    for prompt, completion in pairs:
        prompt_ids = tokenizer.encode(prompt).ids
        row = tokenizer.encode(prompt + completion).ids + [eos]
        assert row[: len(prompt_ids)] == prompt_ids, "the prompt's tokens must be a prefix of the text's"
        rows.append(row)
        starts.append(len(prompt_ids))
    width = max(map(len, rows))
    ids = torch.tensor([row + [eos] * (width - len(row)) for row in rows])
    labels = torch.tensor([row + [-100] * (width - len(row)) for row in rows])
    checked = labels.clone()
    for index, start in enumerate(starts):
        checked[index, :start] = -100
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    for step in range(1, max_steps + 1):
        loss = model(input_ids=ids, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 25 == 0 and _reproduces(model, ids, checked):
            model.eval()
            return step
    raise AssertionError(f"the tiny model did not memorise its texts in {max_steps} steps (loss {loss.item():.3f})")


def _reproduces(model, ids: torch.Tensor, labels: torch.Tensor) -> bool:
    """Teacher-forced argmax equals every next token: then greedy decoding follows each text."""
    model.eval()
    with torch.no_grad():
        predicted = model(input_ids=ids).logits[:, :-1].argmax(-1)
    model.train()
    target = labels[:, 1:]
    mask = target != -100
    return bool((predicted[mask] == target[mask]).all())


def save_checkpoint_folder(model, tokenizer, folder: Path, step: int | None = None) -> Path:
    """A transformers checkpoint (weights, config, tokenizer) with our run state's step."""
    folder = Path(folder)
    model.save_pretrained(folder, safe_serialization=True)
    save_transformers_tokenizer(tokenizer, folder)
    if step is not None:
        (folder / "trainer_state.json").write_text(json.dumps({"step": step}) + "\n", encoding="utf-8")
    return folder


def tokenizer_for(texts: list[str], vocab_size: int = 400):
    return train_bpe(texts, vocab_size)
