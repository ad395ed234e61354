"""What a training recipe asks of the data: parameters, tokens per step, and the token budget in
epochs of the release's training tokens, refused beyond `MAX_EPOCHS` unless the trainer says so.

Repeating data stops helping after about four epochs (Muennighoff et al. 2023, "Scaling
Data-Constrained Language Models"), so a budget above that is most likely a recipe written for
another dataset (StarCoder2-3B's 3.3T tokens against a release of millions).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from bigcode_release.errors import TrainConfigError
from bigcode_release.train.recipe import TrainRecipe

MAX_EPOCHS = 4.0


@dataclass(frozen=True)
class TokenBudget:
    parameters: int
    non_embedding_parameters: int
    tokens_per_step: int
    train_steps: int
    budget_tokens: int
    release_train_tokens: int
    epochs: float

    def to_dict(self) -> dict:
        return asdict(self)


def llama_parameters(recipe: TrainRecipe, vocab_size: int) -> tuple[int, int]:
    """(all, non-embedding) parameters of the recipe's Llama-style model: attention with grouped
    KV heads, a gated (SwiGLU) MLP, RMSNorms, no biases; the output matrix shares the embedding's
    weights when tied."""
    model = recipe.model
    hidden, layers = model.hidden_size, model.num_hidden_layers
    head_dim = hidden // model.num_attention_heads
    kv = head_dim * model.num_key_value_heads
    attention = 2 * hidden * hidden + 2 * hidden * kv
    mlp = 3 * hidden * model.intermediate_size
    non_embedding = layers * (attention + mlp + 2 * hidden) + hidden
    embeddings = vocab_size * hidden * (1 if model.tie_word_embeddings else 2)
    return non_embedding + embeddings, non_embedding


def starcoder2_parameters(recipe: TrainRecipe, vocab_size: int) -> tuple[int, int]:
    """(all, non-embedding) parameters of the recipe's StarCoder2 model: attention with grouped KV
    heads and biases, a GELU MLP with biases, LayerNorms (weight and bias); the output matrix is the
    embedding's."""
    model = recipe.model
    hidden, layers = model.hidden_size, model.num_hidden_layers
    kv = hidden // model.num_attention_heads * model.num_key_value_heads
    attention = hidden * (hidden + 2 * kv) + (hidden + 2 * kv) + hidden * hidden + hidden
    mlp = 2 * hidden * model.intermediate_size + model.intermediate_size + hidden
    non_embedding = layers * (attention + mlp + 4 * hidden) + 2 * hidden
    return non_embedding + vocab_size * hidden, non_embedding


def model_parameters(recipe: TrainRecipe, vocab_size: int) -> tuple[int, int]:
    """(all, non-embedding) parameters of the recipe's model, for its architecture."""
    if recipe.model.architecture == "starcoder2":
        return starcoder2_parameters(recipe, vocab_size)
    return llama_parameters(recipe, vocab_size)


def release_train_tokens(train_dir: Path, token_size: int) -> int:
    """Tokens in the tokenized train split (its `.ds` shards hold `token_size`-byte ids)."""
    return sum(path.stat().st_size for path in Path(train_dir).glob("*.ds")) // token_size


def token_budget(recipe: TrainRecipe, vocab_size: int, train_dir: Path, token_size: int) -> TokenBudget:
    parameters, non_embedding = model_parameters(recipe, vocab_size)
    budget = recipe.train_steps * recipe.tokens_per_step
    available = release_train_tokens(train_dir, token_size)
    return TokenBudget(
        parameters=parameters,
        non_embedding_parameters=non_embedding,
        tokens_per_step=recipe.tokens_per_step,
        train_steps=recipe.train_steps,
        budget_tokens=budget,
        release_train_tokens=available,
        epochs=round(budget / available, 2) if available else float("inf"),
    )


def check_epochs(budget: TokenBudget, origin: str, max_epochs: float = MAX_EPOCHS) -> None:
    """Refuse a budget of more than `max_epochs` passes over the release's training tokens."""
    if budget.epochs > max_epochs:
        problem = (
            f"{budget.budget_tokens:,} tokens ({budget.train_steps:,} steps of {budget.tokens_per_step:,}) are "
            f"{budget.epochs:,.2f} epochs of the release's {budget.release_train_tokens:,} training tokens, "
            f"above {max_epochs:g}; repeated data stops helping after about four epochs (Muennighoff et al. 2023)"
        )
        fix = "lower batch.token_budget (or train_steps), train on a larger release, or pass --max-epochs N"
        raise TrainConfigError(origin, [("batch.token_budget", problem, fix)])
