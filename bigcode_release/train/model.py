"""The model the recipe describes, as a transformers Llama (what nanotron's Llama converts to)."""

from __future__ import annotations

from bigcode_release.train.recipe import ModelConfig


def llama_config(model: ModelConfig, vocab_size: int, bos_id: int, eos_id: int):
    """A `transformers.LlamaConfig` for the recipe's model and the tokenizer's vocabulary."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=model.hidden_size,
        intermediate_size=model.intermediate_size,
        num_hidden_layers=model.num_hidden_layers,
        num_attention_heads=model.num_attention_heads,
        num_key_value_heads=model.num_key_value_heads,
        max_position_embeddings=model.max_position_embeddings,
        rms_norm_eps=model.rms_norm_eps,
        initializer_range=model.initializer_range,
        tie_word_embeddings=model.tie_word_embeddings,
        rope_theta=model.rope_theta,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        hidden_act="silu",
        attention_bias=False,
        use_cache=True,
    )


def count_parameters(module) -> int:
    """Distinct parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in {id(p): p for p in module.parameters()}.values())


def training_flops(parameters: int, tokens: int) -> float:
    """Training compute by the 6·N·D rule (forward and backward, attention not counted)."""
    return 6.0 * parameters * tokens
