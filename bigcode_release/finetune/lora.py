"""Train a LoRA adapter (PEFT) on a corpus: documents tokenized with the base model's tokenizer,
joined with end-of-text, packed into fixed windows, FIM applied per window (the pretraining
transform), a seeded order per epoch, warmup + cosine, gradient clipping, validation loss on
held-out windows. Saves the adapter with its model card and, on request, a merged model."""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from bigcode_release.errors import FinetuneError
from bigcode_release.finetune.card import write_adapter_card
from bigcode_release.finetune.corpus import Corpus
from bigcode_release.finetune.settings import FinetuneSettings
from bigcode_release.train.fim import FimTransform
from bigcode_release.train.model import count_parameters
from bigcode_release.train.runlog import RunLog, plot_losses
from bigcode_release.train.schedule import learning_rate
from bigcode_release.train.step import optimizer_step

IGNORE = -100


@dataclass
class FinetuneReport:
    output_dir: str
    adapter_dir: str
    merged_dir: str | None
    base_model: str
    trainable_parameters: int
    total_parameters: int
    train_windows: int
    validation_windows: int
    tokens: int
    steps: int
    first_train_loss: float
    last_train_loss: float
    first_val_loss: float | None
    last_val_loss: float | None
    seconds: float
    corpus: dict
    settings: dict

    def to_dict(self) -> dict:
        return asdict(self)


def pack_windows(documents: list[str], tokenizer, length: int) -> tuple[np.ndarray, int]:
    """All documents, each followed by end-of-text, cut into windows of `length` tokens (the last
    padded with end-of-text, its padding ignored by the loss via the returned token count)."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise FinetuneError("the base model's tokenizer has no end-of-text token to separate documents")
    stream: list[int] = []
    for text in documents:
        stream.extend(tokenizer(text, add_special_tokens=False)["input_ids"])
        stream.append(eos)
    windows = math.ceil(len(stream) / length)
    padded = np.full(windows * length, eos, dtype=np.int64)
    padded[: len(stream)] = stream
    return padded.reshape(windows, length), len(stream)


def _labels(window: np.ndarray, pad_id: int | None, valid: int) -> np.ndarray:
    labels = window.copy()
    labels[valid:] = IGNORE
    if pad_id is not None:
        labels[window == pad_id] = IGNORE
    return labels


def _targets(labels: torch.Tensor) -> torch.Tensor:
    """Target tokens of a batch: transformers' causal-LM loss predicts labels[:, 1:]."""
    return (labels[:, 1:] != IGNORE).sum()


def _load_base(base_dir: Path, settings: FinetuneSettings):
    from transformers import AutoModelForCausalLM

    if settings.load_in_4bit:
        if not torch.cuda.is_available():
            raise FinetuneError("--4bit (QLoRA) needs a CUDA GPU and bitsandbytes; on CPU train LoRA in float32")
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise FinetuneError("--4bit needs bitsandbytes: pip install bitsandbytes") from None
        from peft import prepare_model_for_kbit_training
        from transformers import BitsAndBytesConfig

        quantization = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        model = AutoModelForCausalLM.from_pretrained(
            str(base_dir), quantization_config=quantization, device_map={"": 0}
        )
        return prepare_model_for_kbit_training(model)
    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
    return model.to("cuda" if torch.cuda.is_available() else "cpu")


def _validation_loss(model, windows: np.ndarray, valid: list[int], pad_id: int | None, batch: int) -> float | None:
    if not len(windows):
        return None
    device = next(model.parameters()).device
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(windows), batch):
            ids = torch.tensor(windows[start : start + batch], device=device)
            labels = torch.tensor(
                np.stack(
                    [
                        _labels(w, pad_id, v)
                        for w, v in zip(windows[start : start + batch], valid[start : start + batch])
                    ]
                ),
                device=device,
            )
            targets = int(_targets(labels))
            total += float(model(input_ids=ids, labels=labels).loss) * targets
            count += targets
    model.train()
    return total / max(count, 1)


def train_lora(
    base_dir: str | Path,
    corpus: Corpus,
    output_dir: str | Path,
    settings: FinetuneSettings,
    merge: bool = False,
    show_progress: bool = True,
    return_model: bool = False,
):
    """Train the adapter; write `adapter/` (weights, config, tokenizer, README card, loss.png),
    `log.csv`, `loss.png`, `finetune.json` and, with `merge`, `merged/`. Returns the report (and
    the trained PEFT model with `return_model`)."""
    import transformers
    from peft import LoraConfig, get_peft_model
    from transformers import AutoTokenizer

    if not show_progress:
        transformers.utils.logging.disable_progress_bar()
    started = time.monotonic()
    base_dir, output_dir = Path(base_dir), Path(output_dir)
    if not (base_dir / "config.json").is_file():
        raise FinetuneError(f"--base {base_dir}: not a transformers model folder (no config.json)")
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    fim = None
    if settings.fim_rate > 0:
        fim = FimTransform(tokenizer.backend_tokenizer, settings.fim_rate, settings.fim_spm_rate, settings.seed)
    windows, stream_tokens = pack_windows(corpus.documents, tokenizer, settings.sequence_length)
    valid = [
        min(settings.sequence_length, max(stream_tokens - i * settings.sequence_length, 0)) for i in range(len(windows))
    ]
    held_out = [
        i
        for i in range(len(windows))
        if settings.validation_fraction and len(windows) >= 4 and i % round(1 / settings.validation_fraction) == 0
    ]
    train_ids = [i for i in range(len(windows)) if i not in set(held_out)]
    steps_per_epoch = math.ceil(len(train_ids) / settings.micro_batch_size)
    total_steps = settings.max_steps or max(1, math.ceil(settings.epochs * steps_per_epoch))

    torch.manual_seed(settings.seed)
    model = _load_base(base_dir, settings)
    lora = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=settings.target_modules,
        task_type="CAUSAL_LM",
        bias="none",
    )
    model = get_peft_model(model, lora)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    device = next(model.parameters()).device
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=settings.learning_rate,
        weight_decay=settings.weight_decay,
    )
    pad_id = fim.ids.pad if fim else None
    output_dir.mkdir(parents=True, exist_ok=True)
    log = RunLog(output_dir / "log.csv")
    val_windows, val_valid = windows[held_out], [valid[i] for i in held_out]
    first_val = _validation_loss(model, val_windows, val_valid, pad_id, settings.micro_batch_size)
    log.append(step=0, tokens=0, learning_rate=0.0, val_loss=first_val, elapsed_s=0.0)
    rng = np.random.default_rng(settings.seed)
    order: list[int] = []
    losses, last_val, tokens = [], first_val, 0
    model.train()
    bar = tqdm(total=total_steps, unit="step", desc="fine-tuning", disable=not show_progress, dynamic_ncols=True)
    for step in range(total_steps):
        if len(order) < settings.micro_batch_size:
            order += rng.permutation(train_ids).tolist()
        batch_ids, order = order[: settings.micro_batch_size], order[settings.micro_batch_size :]
        epoch_position = step * settings.micro_batch_size
        samples = [fim(windows[i], epoch_position + n) if fim else windows[i] for n, i in enumerate(batch_ids)]
        ids = torch.tensor(np.stack(samples), device=device)
        labels = torch.tensor(
            np.stack([_labels(s, pad_id, valid[i]) for s, i in zip(samples, batch_ids)]), device=device
        )
        rate = learning_rate(
            step, settings.learning_rate, settings.min_learning_rate, settings.warmup_steps, total_steps
        )
        stepped = optimizer_step(
            optimizer,
            [p for p in model.parameters() if p.requires_grad],
            [(ids, labels)],
            lambda inputs, targets: model(input_ids=inputs, labels=targets).loss * _targets(targets),
            _targets,
            rate,
            settings.grad_clip,
        )
        norm = stepped.grad_norm
        tokens += int(ids.numel())
        losses.append(stepped.loss)
        done = step + 1
        val = None
        if done % settings.eval_interval == 0 or done == total_steps:
            val = last_val = _validation_loss(model, val_windows, val_valid, pad_id, settings.micro_batch_size)
        elapsed = time.monotonic() - started
        log.append(
            step=done,
            tokens=tokens,
            learning_rate=rate,
            train_loss=losses[-1],
            val_loss=val,
            grad_norm=float(norm),
            tokens_per_second=round(tokens / elapsed, 1),
            elapsed_s=round(elapsed, 2),
        )
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
        bar.update(1)
    bar.close()
    model.eval()

    adapter_dir = output_dir / "adapter"
    model.save_pretrained(str(adapter_dir))
    tokenizer.save_pretrained(str(adapter_dir))
    plot_losses(output_dir / "log.csv", output_dir / "loss.png", f"LoRA fine-tuning of {base_dir.name}")
    shutil.copy2(output_dir / "loss.png", adapter_dir / "loss.png")
    merged_dir = merge_adapter(base_dir, adapter_dir, output_dir / "merged") if merge else None
    report = FinetuneReport(
        output_dir=str(output_dir),
        adapter_dir=str(adapter_dir),
        merged_dir=str(merged_dir) if merged_dir else None,
        base_model=str(base_dir.resolve()),
        trainable_parameters=trainable,
        total_parameters=count_parameters(model),
        train_windows=len(train_ids),
        validation_windows=len(held_out),
        tokens=tokens,
        steps=total_steps,
        first_train_loss=losses[0],
        last_train_loss=losses[-1],
        first_val_loss=first_val,
        last_val_loss=last_val,
        seconds=round(time.monotonic() - started, 1),
        corpus=corpus.summary(),
        settings=settings.model_dump(),
    )
    write_adapter_card(adapter_dir, report)
    (output_dir / "finetune.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return (report, model) if return_model else report


def merge_adapter(base_dir: str | Path, adapter_dir: str | Path, out_dir: str | Path) -> Path:
    """The base model with the adapter folded into its weights (float32), with the tokenizer."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(str(out_dir), safe_serialization=True)
    AutoTokenizer.from_pretrained(str(adapter_dir)).save_pretrained(str(out_dir))
    return Path(out_dir)
