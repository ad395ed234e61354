"""Layout checks every engine needs, made before any work starts: the ones nanotron makes when it
loads a config (heads vs tp, KV heads) and the ones it leaves to a crash at runtime or never makes
(world size = dp*tp*pp, layers divisible by pp). Each problem comes with the fix."""

from __future__ import annotations

from bigcode_release.errors import TrainConfigError
from bigcode_release.train.recipe import TrainRecipe


def _divisors(n: int) -> str:
    return ", ".join(str(d) for d in range(1, n + 1) if n % d == 0)


def model_problems(heads: int, kv_heads: int, hidden: int, layers: int, tp: int, pp: int) -> list[tuple[str, str, str]]:
    """Problems of a model shape under a tp x pp layout, as `(key, problem, fix)`."""
    problems = []
    if heads % tp:
        problems.append(
            (
                "parallelism.tp",
                f"num_attention_heads ({heads}) is not divisible by tp ({tp})",
                f"use a tp among the divisors of {heads}: {_divisors(heads)}",
            )
        )
    if kv_heads > heads:
        problems.append(
            (
                "model.num_key_value_heads",
                f"num_key_value_heads ({kv_heads}) is above num_attention_heads ({heads})",
                f"set num_key_value_heads to at most {heads}",
            )
        )
    elif heads % kv_heads:
        problems.append(
            (
                "model.num_key_value_heads",
                f"num_attention_heads ({heads}) is not divisible by num_key_value_heads ({kv_heads})",
                f"use one of {_divisors(heads)}",
            )
        )
    if kv_heads < tp:
        problems.append(
            (
                "model.num_key_value_heads",
                f"num_key_value_heads ({kv_heads}) is below tp ({tp}): "
                "each tensor-parallel rank needs at least one KV head",
                f"raise num_key_value_heads to {tp} or more, or lower tp to {kv_heads} or less",
            )
        )
    if hidden % heads:
        problems.append(
            (
                "model.hidden_size",
                f"hidden_size ({hidden}) is not divisible by num_attention_heads ({heads})",
                f"use a hidden_size that is a multiple of {heads}",
            )
        )
    if layers % pp:
        problems.append(
            (
                "parallelism.pp",
                f"num_hidden_layers ({layers}) is not divisible by pp ({pp}): pipeline stages would be unequal",
                f"use a pp among the divisors of {layers}: {_divisors(layers)}",
            )
        )
    return problems


def world_size_problems(dp: int, tp: int, pp: int, world_size: int | None) -> list[tuple[str, str, str]]:
    """A mismatch between dp*tp*pp and the processes that will run."""
    if world_size is None or dp * tp * pp == world_size:
        return []
    fix = f"set dp to {world_size // (tp * pp)}" if world_size % (tp * pp) == 0 else f"launch {dp * tp * pp} processes"
    return [("parallelism", f"dp*tp*pp = {dp}*{tp}*{pp} = {dp * tp * pp} but the world size is {world_size}", fix)]


def recipe_problems(recipe: TrainRecipe, engine: str, world_size: int | None = None) -> list[tuple[str, str, str]]:
    """Every layout problem of a recipe for an engine (`torch` or `nanotron`)."""
    model, par, batch = recipe.model, recipe.parallelism, recipe.batch
    problems = model_problems(
        model.num_attention_heads, model.num_key_value_heads, model.hidden_size, model.num_hidden_layers, par.tp, par.pp
    )
    problems += world_size_problems(par.dp, par.tp, par.pp, world_size)
    if batch.sequence_length > model.max_position_embeddings:
        problems.append(
            (
                "batch.sequence_length",
                f"sequence_length ({batch.sequence_length}) is above "
                f"max_position_embeddings ({model.max_position_embeddings})",
                "raise model.max_position_embeddings or shorten the sequences",
            )
        )
    if recipe.optimizer.warmup_steps >= recipe.train_steps:
        problems.append(
            (
                "optimizer.warmup_steps",
                f"warmup_steps ({recipe.optimizer.warmup_steps}) is not below the {recipe.train_steps} training steps",
                "shorten the warmup or train longer",
            )
        )
    if engine == "torch" and model.architecture != "llama":
        problems.append(
            (
                "model.architecture",
                f"the torch engine trains the llama blocks; {model.architecture} runs on nanotron's own model",
                "use --engine nanotron, or architecture: llama",
            )
        )
    if engine == "torch" and (par.tp > 1 or par.pp > 1):
        problems.append(
            (
                "parallelism",
                f"the torch engine runs data parallel only, got tp={par.tp} pp={par.pp}",
                "set tp: 1 and pp: 1, or use --engine nanotron",
            )
        )
    gpus = recipe.nanotron.gpus_per_node
    if engine == "nanotron" and par.world_size > gpus and par.world_size % gpus:
        problems.append(
            (
                "parallelism",
                f"world size {par.world_size} spans nodes of {gpus} GPUs unevenly",
                f"make dp*tp*pp a multiple of {gpus} (nanotron.gpus_per_node)",
            )
        )
    if par.tp_linear_async_communication and par.tp > 1 and par.tp_mode != "REDUCE_SCATTER":
        problems.append(
            (
                "parallelism.tp_linear_async_communication",
                "async TP communication needs tp_mode REDUCE_SCATTER",
                "set tp_mode: REDUCE_SCATTER or tp_linear_async_communication: false",
            )
        )
    return problems


def check_recipe(recipe: TrainRecipe, engine: str, origin: str, world_size: int | None = None) -> None:
    """Raise `TrainConfigError` listing every problem (see `recipe_problems`)."""
    problems = recipe_problems(recipe, engine, world_size)
    if problems:
        raise TrainConfigError(origin, problems)
