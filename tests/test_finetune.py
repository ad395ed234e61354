"""LoRA fine-tuning on a local repository: the dataset stage's filters and PII redaction apply
(or not, for private code), the loss falls, the saved adapter reloads to identical logits, the
merged model matches, the card validates, and the adapter serves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from bigcode_release.errors import FinetuneError, RecipeError
from bigcode_release.finetune.corpus import build_corpus
from bigcode_release.finetune.lora import train_lora
from bigcode_release.finetune.settings import load_settings
from tests.conftest import MIT_TEXT, run_cli
from tests.tiny_models import save_checkpoint_folder, tiny_llama, tokenizer_for

pytestmark = pytest.mark.slow
EMAIL = "jane.doe@example-corp.com"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """`public/` (an MIT repository: idna's sources and a settings file with an email), `private/`
    (no license), and `base/`, a tiny Llama with a BPE trained on that code."""
    import idna

    root = tmp_path_factory.mktemp("finetune")
    public = root / "public"
    (public / "pkg").mkdir(parents=True)
    (public / "LICENSE").write_text(MIT_TEXT)
    for source in sorted(Path(idna.__file__).parent.glob("*.py")):
        shutil.copy(source, public / "pkg" / source.name)
    (public / "pkg" / "settings.py").write_text(f'ADMIN = "{EMAIL}"\nDEBUG = False\n')
    private = root / "private"
    private.mkdir()
    (private / "tool.py").write_text(f'OWNER = "{EMAIL}"\n\n\ndef run(x):\n    return [x * i for i in range(10)]\n' * 4)
    texts = [p.read_text() for p in (public / "pkg").glob("*.py")]
    tokenizer = tokenizer_for(texts, 800)
    save_checkpoint_folder(
        tiny_llama(tokenizer.get_vocab_size(), hidden=96, max_positions=512), tokenizer, root / "base"
    )
    return root


def test_lora_loss_falls_adapter_reloads_identically_and_merge_matches(workspace, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    corpus = build_corpus([workspace / "public"], tmp_path / "corpus", show_progress=False)
    assert corpus.files_kept >= 5 and corpus.pii_replaced == {"EMAIL": 1} and not corpus.private
    texts = [
        c
        for f in (Path(corpus.dataset_dir) / "data").glob("*.parquet")
        for c in pq.read_table(f, columns=["content"]).column("content").to_pylist()
    ]
    assert any("<EMAIL>" in t for t in texts) and not any(EMAIL in t for t in texts)

    settings = load_settings(
        None, {"max_steps": 60, "sequence_length": 256, "learning_rate": 3e-3, "r": 8, "eval_interval": 20}
    )
    report, model = train_lora(
        workspace / "base", corpus, tmp_path / "out", settings, merge=True, show_progress=False, return_model=True
    )
    assert report.last_val_loss < report.first_val_loss - 0.05, report
    rows = [json.loads(json.dumps(r)) for r in __import__("csv").DictReader(open(tmp_path / "out" / "log.csv"))]
    train = [float(r["train_loss"]) for r in rows if r["train_loss"]]
    assert sum(train[-10:]) / 10 < sum(train[:10]) / 10
    assert 0 < report.trainable_parameters < report.total_parameters

    probe = torch.tensor([list(range(20, 84))])
    with torch.no_grad():
        trained = model(input_ids=probe).logits
        base = AutoModelForCausalLM.from_pretrained(str(workspace / "base"), dtype=torch.float32)
        reloaded = PeftModel.from_pretrained(base, str(tmp_path / "out" / "adapter")).eval()(input_ids=probe).logits
        merged = AutoModelForCausalLM.from_pretrained(str(tmp_path / "out" / "merged")).eval()(input_ids=probe).logits
    assert torch.equal(trained, reloaded)
    assert (merged - reloaded).abs().max().item() < 1e-4

    from huggingface_hub import ModelCard

    card = ModelCard.load(tmp_path / "out" / "adapter" / "README.md")
    assert card.data.library_name == "peft" and "lora" in card.data.tags
    assert "| PII replaced | EMAIL: 1 |" in card.text and "![loss curve](loss.png)" in card.text
    assert (tmp_path / "out" / "adapter" / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_the_adapter_serves_like_the_merged_model(workspace, tmp_path):
    from bigcode_release.serve.generator import TextGenerator
    from bigcode_release.serve.protocol import GenerateParameters

    result = run_cli(
        "finetune",
        "--base",
        str(workspace / "base"),
        "--code",
        str(workspace / "public"),
        "--out",
        str(tmp_path / "out"),
        "--max-steps",
        "12",
        "--sequence-length",
        "128",
        "--learning-rate",
        "5e-3",
        "--fim-rate",
        "0.9",
        "--merge",
        "--json",
    )
    report = json.loads(result.stdout)
    assert report["steps"] == 12 and report["settings"]["fim_rate"] == 0.9 and report["merged_dir"]
    parameters = GenerateParameters(max_new_tokens=24)
    with_adapter = TextGenerator(workspace / "base", tmp_path / "out" / "adapter")
    merged = TextGenerator(report["merged_dir"])
    assert with_adapter.info()["adapter"] == str(tmp_path / "out" / "adapter")
    for prompt in ("def encode(", "import "):
        assert with_adapter.generate(prompt, parameters).text == merged.generate(prompt, parameters).text


def test_private_code_needs_the_private_flag_and_keeps_its_text(workspace, tmp_path):
    with pytest.raises(FinetuneError, match="license:no_license.*pass --private"):
        build_corpus([workspace / "private"], tmp_path / "a", show_progress=False)
    corpus = build_corpus([workspace / "private"], tmp_path / "b", private=True, show_progress=False)
    assert corpus.private and corpus.files_kept == 1 and corpus.pii_replaced == {}


def test_bad_settings_and_inputs_are_refused_before_any_work(workspace, tmp_path):
    recipe = tmp_path / "lora.yaml"
    recipe.write_text("r: 0\nalpah: 3\n")
    with pytest.raises(RecipeError) as caught:
        load_settings(recipe, {})
    assert "r:" in str(caught.value) and "alpah: unknown key (did you mean 'alpha'?)" in str(caught.value)
    with pytest.raises(RecipeError, match="min_learning_rate"):
        load_settings(None, {"learning_rate": 1e-5, "min_learning_rate": 1e-3})
    result = run_cli("finetune", "--base", str(tmp_path), "--code", str(workspace / "public"), check=False)
    assert result.returncode == 2 and "not a transformers model folder" in result.stderr
    result = run_cli(
        "finetune",
        "--base",
        str(workspace / "base"),
        "--code",
        str(tmp_path / "missing"),
        "--out",
        str(tmp_path / "o"),
        check=False,
    )
    assert result.returncode == 2 and "not a directory" in result.stderr
    if not torch.cuda.is_available():
        result = run_cli(
            "finetune",
            "--base",
            str(workspace / "base"),
            "--code",
            str(workspace / "public"),
            "--out",
            str(tmp_path / "q"),
            "--4bit",
            "--max-steps",
            "1",
            check=False,
        )
        assert result.returncode == 2 and "--4bit (QLoRA) needs a CUDA GPU" in result.stderr


@pytest.mark.gpu
def test_qlora_trains_in_4bit_on_a_gpu(workspace, tmp_path):
    corpus = build_corpus([workspace / "public"], tmp_path / "corpus", show_progress=False)
    settings = load_settings(None, {"max_steps": 5, "sequence_length": 128, "load_in_4bit": True})
    report = train_lora(workspace / "base", corpus, tmp_path / "out", settings, show_progress=False)
    assert report.settings["load_in_4bit"] and (tmp_path / "out" / "adapter" / "adapter_model.safetensors").is_file()
