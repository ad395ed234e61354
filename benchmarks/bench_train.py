"""Training throughput of the torch engine against a plain `transformers.Trainer` loop, same model
(~10M parameters, Llama with GQA), same tokenized data, same sequence length (512) and batch, in
one run; plus the tokenizer's training time on 100 MB of the dataset and the torch engine's
throughput in bfloat16 autocast vs float32 on this CPU.

    .venv/bin/python benchmarks/bench_train.py [--release release] [--steps 30]

Reads `<release>/dataset` (run README command 1 first); trains a 49,152-token tokenizer into a
temporary folder and tokenizes the dataset with it (datatrove), then times both training loops.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from bigcode_release.tokenizer.shards import tokenize_dataset
from bigcode_release.tokenizer.training import train_tokenizer
from bigcode_release.train.data import PackedSamples
from bigcode_release.train.recipe import TrainRecipe
from bigcode_release.train.torch_engine import train_torch

MODEL = {
    "hidden_size": 192,
    "num_hidden_layers": 4,
    "num_attention_heads": 6,
    "num_key_value_heads": 2,
    "intermediate_size": 512,
    "max_position_embeddings": 1024,
}


def engine_recipe(tokenized: Path, release: Path, steps: int, mbs: int, dtype: str, fim_rate: float) -> TrainRecipe:
    return TrainRecipe.model_validate(
        {
            "name": f"bench-{dtype}-fim{fim_rate}",
            "model": MODEL,
            "batch": {"sequence_length": 512, "micro_batch_size": mbs, "train_steps": steps},
            "optimizer": {"warmup_steps": 1, "learning_rate": 1e-3, "min_learning_rate": 1e-4},
            "fim": {"rate": fim_rate},
            "data": {"release": str(release), "tokenized": str(tokenized)},
            "checkpoints": {"interval": steps},
            "validation": {"interval": steps, "batches": 1},
            "torch": {"dtype": dtype},
        }
    )


def run_engine(recipe: TrainRecipe, run_dir: Path) -> tuple[float, int]:
    start = time.perf_counter()
    result = train_torch(recipe, run_dir=run_dir, show_progress=False)
    return time.perf_counter() - start, result.parameters


def run_trainer(tokenized: Path, tokenizer_dir: Path, steps: int, mbs: int, run_dir: Path) -> float:
    """The baseline: `transformers.Trainer` on the same windows (labels = inputs; the model shifts)."""
    from tokenizers import Tokenizer
    from transformers import LlamaForCausalLM, Trainer, TrainingArguments

    from bigcode_release.train.model import llama_config
    from bigcode_release.train.recipe import ModelConfig

    start = time.perf_counter()
    samples = PackedSamples(tokenized / "train", 512)
    vocab = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json")).get_vocab_size()

    class Windows(torch.utils.data.Dataset):
        def __len__(self):
            return len(samples)

        def __getitem__(self, index):
            ids = torch.from_numpy(samples[index][:512].astype("int64"))
            return {"input_ids": ids, "labels": ids.clone()}

    torch.manual_seed(0)
    model = LlamaForCausalLM(llama_config(ModelConfig(**MODEL), vocab, 0, 0))
    args = TrainingArguments(
        output_dir=str(run_dir),
        per_device_train_batch_size=mbs,
        max_steps=steps,
        learning_rate=1e-3,
        warmup_steps=1,
        lr_scheduler_type="cosine",
        weight_decay=0.1,
        max_grad_norm=1.0,
        logging_steps=steps,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=True,
        seed=0,
    )
    Trainer(model=model, args=args, train_dataset=Windows()).train()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, default=Path("release"))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--micro-batch", type=int, default=8)
    parser.add_argument("--sample-mb", type=float, default=100.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-train-"))

    start = time.perf_counter()
    report = train_tokenizer(
        args.release, vocab_size=49152, sample_mb=args.sample_mb, out_dir=work / "tokenizer", progress=False
    )
    tokenizer_wall = time.perf_counter() - start
    print(
        f"tokenizer: {report.sample_bytes / 2**20:.1f} MiB sampled, BPE training {report.train_seconds:.1f} s "
        f"({tokenizer_wall:.1f} s with sampling and fertility); chars/token (all) {report.fertility[-1]['chars_per_token']}"
    )
    start = time.perf_counter()
    tokenized = tokenize_dataset(
        args.release, tokenizer_dir=work / "tokenizer", out_dir=work / "tokenized", show_progress=False
    )
    print(f"tokenize: {tokenized.splits['train']['tokens']:,} train tokens in {time.perf_counter() - start:.1f} s")

    tokens = args.steps * args.micro_batch * 512
    results = {}
    for name, dtype, fim in (
        ("engine_fp32", "float32", 0.0),
        ("engine_fp32_fim", "float32", 0.5),
        ("engine_bf16", "bfloat16", 0.0),
    ):
        steps = args.steps if dtype == "float32" else 2  # emulated bf16 is slow on AVX2-only CPUs
        recipe = engine_recipe(work / "tokenized", args.release, steps, args.micro_batch, dtype, fim)
        wall, parameters = run_engine(recipe, work / name)
        results[name] = steps * args.micro_batch * 512 / wall
        print(f"{name}: {parameters:,} parameters, {steps} steps, {results[name]:,.0f} tokens/s (wall incl. setup)")
    wall = run_trainer(work / "tokenized", work / "tokenizer", args.steps, args.micro_batch, work / "trainer")
    results["trainer_fp32"] = tokens / wall
    print(f"transformers.Trainer: {results['trainer_fp32']:,.0f} tokens/s (wall incl. setup)")
    print(
        json.dumps(
            {
                "benchmark": "train",
                "parameters": parameters,
                "sequence_length": 512,
                "micro_batch": args.micro_batch,
                "steps": args.steps,
                "engine_tokens_per_s": round(results["engine_fp32"], 1),
                "engine_fim_tokens_per_s": round(results["engine_fp32_fim"], 1),
                "engine_bf16_tokens_per_s": round(results["engine_bf16"], 1),
                "trainer_tokens_per_s": round(results["trainer_fp32"], 1),
                "ratio": round(results["engine_fp32"] / results["trainer_fp32"], 2),
                "bf16_over_fp32": round(results["engine_bf16"] / results["engine_fp32"], 3),
                "tokenizer_sample_mib": round(report.sample_bytes / 2**20, 1),
                "tokenizer_train_s": report.train_seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
