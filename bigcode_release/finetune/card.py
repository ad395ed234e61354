"""The adapter's model card: base model, data summary, hyperparameters, loss curve, usage."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import ModelCard, ModelCardData

CARD_TEMPLATE = """---
{{ card_data }}
---

# LoRA adapter for `{{ base_name }}`

A LoRA adapter trained with `bigcode-release finetune` (PEFT) on {{ corpus.files_kept }} files
({{ "{:,}".format(corpus.bytes_kept) }} bytes) of the user's code, with fill-in-the-middle applied as in pretraining.

## Training data

| | |
|---|---|
| files read | {{ corpus.files_in }} |
| files kept | {{ corpus.files_kept }} |
| languages | {{ languages }} |
| license filter and PII redaction | {{ "skipped (private code)" if corpus.private else "applied" }} |
| PII replaced | {{ pii }} |
| dropped by the dataset filters | {{ dropped }} |

## Hyperparameters

| | |
|---|---|
| LoRA r / alpha / dropout | {{ s.r }} / {{ s.alpha }} / {{ s.dropout }} |
| target modules | {{ s.target_modules }} |
| trainable parameters | {{ "{:,}".format(r.trainable_parameters) }} of {{ "{:,}".format(r.total_parameters) }} |
| sequence length, micro batch | {{ s.sequence_length }}, {{ s.micro_batch_size }} |
| steps, tokens | {{ r.steps }}, {{ "{:,}".format(r.tokens) }} |
| learning rate | {{ s.learning_rate }} (warmup {{ s.warmup_steps }}, cosine to {{ s.min_learning_rate }}) |
| FIM rate, SPM rate | {{ s.fim_rate }}, {{ s.fim_spm_rate }} |
| 4-bit base (QLoRA) | {{ s.load_in_4bit }} |
| seed | {{ s.seed }} |

## Results

Training loss {{ "%.4f" % r.first_train_loss }} (first step) -> {{ "%.4f" % r.last_train_loss }} (last step){% if r.last_val_loss is not none %};
validation loss on {{ r.validation_windows }} held-out windows {{ "%.4f" % r.first_val_loss }} -> {{ "%.4f" % r.last_val_loss }}{% endif %}.

![loss curve](loss.png)

## Usage

```python
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

base = AutoModelForCausalLM.from_pretrained("{{ base_model }}")
model = PeftModel.from_pretrained(base, "path/to/adapter")
tokenizer = AutoTokenizer.from_pretrained("path/to/adapter")
```

Or serve it: `bigcode-release serve {{ base_model }} --adapter path/to/adapter`.
"""


def write_adapter_card(adapter_dir: Path, report) -> Path:
    """Render the card into `adapter_dir/README.md` (validated by huggingface_hub's card classes)."""
    corpus, settings = report.corpus, report.settings
    # the base is a local folder, not a Hub id, so it is named in the text rather than as `base_model`
    data = ModelCardData(
        library_name="peft",
        pipeline_tag="text-generation",
        tags=["code", "lora", "fill-in-the-middle", "bigcode-release"],
    )
    card = ModelCard.from_template(
        data,
        template_str=CARD_TEMPLATE,
        base_name=Path(report.base_model).name,
        base_model=report.base_model,
        corpus=corpus,
        s=settings,
        r=report,
        languages=", ".join(f"{k} ({v})" for k, v in corpus["languages"].items()),
        dropped=", ".join(f"{k}: {v}" for k, v in corpus["dropped"].items()) or "none",
        pii=", ".join(f"{k}: {v}" for k, v in corpus["pii_replaced"].items()) or "none",
    )
    path = Path(adapter_dir) / "README.md"
    card.save(path)
    return path
