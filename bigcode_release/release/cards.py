"""Cards for the Hub: the dataset card's required sections are checked, model cards are rendered
from the run's own manifest and evaluation results (with the model gate in their front matter),
Space READMEs are validated, and files the Hub needs but the release lacks are generated under
`<release>/hub/generated/`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from huggingface_hub import DatasetCard, DatasetCardData, ModelCard, ModelCardData, SpaceCard
from jinja2 import Environment, StrictUndefined

from bigcode_release.errors import ReleaseError
from bigcode_release.layout import ReleaseLayout
from bigcode_release.release.artifacts import RepoFile, RepoPlan
from bigcode_release.release.settings import ReleaseSettings
from bigcode_release.release.transparency.checks import attention_kind
from bigcode_release.release.transparency.statuses import DERIVED, MEASURED
from bigcode_release.shipped import card_template

# (heading, what must follow it) a dataset card needs before it may be published
REQUIRED_DATASET_SECTIONS = (
    ("## Licenses", "a table of licenses and their shares"),
    ("## Opt-out", "how to opt out and the opt-out counts"),
    ("## Personal and sensitive information", "the PII redaction counts"),
)

HUB_RECORD = "hub-release.json"  # what evidence read from the last push starts with


def dataset_card_problems(card_path: Path, gated: bool) -> list[str]:
    """What keeps a dataset card from being published (empty when it may be)."""
    try:
        card = DatasetCard.load(card_path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a problem to report
        return [f"not a valid dataset card ({exc})"]
    problems = []
    for heading, content in REQUIRED_DATASET_SECTIONS:
        section = _section(card.text, heading)
        if section is None:
            problems.append(f"no '{heading}' section ({content})")
        elif heading == "## Licenses" and not re.search(r"^\|.+\|\s*$", section, flags=re.MULTILINE):
            problems.append(f"'{heading}' has no table ({content})")
    if gated and not card.data.get("extra_gated_prompt"):
        problems.append("gated, but the front matter has no extra_gated_prompt (the terms users accept)")
    return problems


def _section(text: str, heading: str) -> str | None:
    match = re.search(rf"^{re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    return match.group(1) if match else None


def check_cards(plans: list[RepoPlan]) -> None:
    """Refuse, before anything is sent, a plan whose cards are missing or incomplete."""
    problems = []
    for plan in plans:
        card = plan.card()
        if card is None:
            problems.append(f"{plan.repo_id}: no README.md card")
        elif plan.kind == "dataset":
            problems += [
                f"{plan.repo_id} ({card.local}): {p}"
                for p in dataset_card_problems(Path(card.local), plan.gate is not None)
            ]
        elif plan.kind == "space":
            try:
                data = SpaceCard.load(card.local).data
            except Exception as exc:  # noqa: BLE001
                problems.append(f"{plan.repo_id} ({card.local}): not a valid Space card ({exc})")
                continue
            if not data.get("sdk") or not data.get("sdk_version"):
                problems.append(f"{plan.repo_id} ({card.local}): the front matter names no sdk and sdk_version")
            if str(data.get("python_version")) != "3.11":
                problems.append(f"{plan.repo_id} ({card.local}): python_version must be 3.11 (the toolkit needs it)")
    if problems:
        raise ReleaseError("cards are not ready to publish:\n  " + "\n  ".join(problems))


def render_model_card(plan: RepoPlan, settings: ReleaseSettings, transparency: list) -> str:
    """The model card of a training run's last checkpoint, from its manifest, its config and tokenizer,
    eval results and the transparency report's rows (the table shows the measured and derived ones;
    energy and carbon say their status)."""
    manifest = json.loads(Path(plan.source).read_text(encoding="utf-8"))
    files = {f.path_in_repo: Path(f.local) for f in plan.files}
    config = json.loads(files["config.json"].read_text(encoding="utf-8"))
    results = (
        json.loads(files["eval/results.json"].read_text(encoding="utf-8")) if "eval/results.json" in files else None
    )
    gate = settings.model.gate
    extra = (
        {"extra_gated_prompt": gate.prompt, "extra_gated_fields": gate.fields} if gate and gate.mode != "none" else {}
    )
    data = ModelCardData(
        license=settings.model.license,
        library_name="transformers",
        pipeline_tag="text-generation",
        tags=["code", "bigcode-release"],
        **extra,
    )
    evaluations, likelihoods, ks, sandbox, decoding = [], [], [], {}, ""
    if results:
        ks = results["settings"]["k"]
        sandbox = results["settings"]["sandbox"]
        decoding = (
            "greedy"
            if results["settings"]["greedy"]
            else (f"temperature {results['settings']['temperature']}, top_p {results['settings']['top_p']}")
        )
        evaluations = [
            {
                "task": task,
                "problems": score["problems"],
                "n": results["settings"]["n"],
                "scores": {k: score[f"pass@{k}"] or 0.0 for k in ks},
            }
            for task, score in results["scores"].items()
            if "bits_per_byte" not in score
        ]
        likelihoods = [{"task": task, **score} for task, score in results["scores"].items() if "bits_per_byte" in score]
    run, counts, recipe = manifest["run"], manifest["counts"], manifest["recipe"]
    template = Environment(undefined=StrictUndefined, keep_trailing_newline=True).from_string(
        card_template("model_card.md").read_text(encoding="utf-8")
    )
    text = template.render(
        card_data=data.to_yaml(),
        name=plan.repo_id.split("/")[1],
        parameters=run["parameters"],
        model=recipe["model"],
        sequence_length=counts["sequence_length"],
        vocab_size=config["vocab_size"],
        step=plan.tag.split("-")[-1].lstrip("0"),
        dataset_version=manifest["inputs"]["dataset_version"],
        dataset_manifest_hash=manifest["inputs"]["dataset_manifest_hash"],
        tokenized_manifest_hash=manifest["inputs"]["tokenized_manifest_hash"],
        tokens=run["tokens"],
        epochs=counts["epochs"],
        tokens_available=counts["train_tokens_available"],
        fim_rate=recipe["fim"]["rate"],
        steps=run["steps"],
        flops=run["flops"],
        wall_hours=(run.get("processes") or run)["wall_seconds"] / 3600,
        processes=(run.get("processes") or {}).get("count"),
        hardware=", ".join(f"{k} {v}" for k, v in run["hardware"].items()),
        attention=attention_kind(config["num_attention_heads"], config["num_key_value_heads"]),
        special_tokens=_special_tokens(files.get("tokenizer.json")),
        evaluations=evaluations,
        likelihoods=likelihoods,
        ks=ks,
        sandbox=sandbox,
        decoding=decoding,
        license=settings.model.license,
        # measured and derived rows, except what a push records: a card is published once per tag, so it
        # must not change because the release was pushed
        transparency=[
            row
            for row in transparency
            if row.status in (MEASURED, DERIVED) and not any(e.startswith(HUB_RECORD) for e in row.evidence)
        ],
        energy=_value(transparency, "Energy usage"),
        carbon=_value(transparency, "Carbon emissions"),
    )
    ModelCard(text)  # parses the front matter: a broken card fails here, not on the Hub
    return text


def _value(rows: list, name: str) -> str:
    """The value of the indicator whose name starts with `name`, with its status."""
    row = next((row for row in rows if row.name.startswith(name)), None)
    return f"{row.value} ({row.status})" if row is not None else "not produced"


def _special_tokens(tokenizer: Path | None) -> str:
    """The special tokens the tokenizer file declares, as the card lists them."""
    if tokenizer is None:
        return "not published with this checkpoint"
    added = json.loads(tokenizer.read_text(encoding="utf-8")).get("added_tokens", [])
    names = [t["content"] for t in added if t.get("special")]
    return ", ".join(f"`{name}`" for name in names) if names else "none"


def index_card(plan: RepoPlan, release: Path) -> str:
    """The index repository's card: what it holds, gated with the dataset's own terms (it holds the
    dataset's full text)."""
    dataset_card = DatasetCard.load(ReleaseLayout.at(release).version_dir(plan.tag) / "README.md")
    gate = {k: v for k, v in dataset_card.data.to_dict().items() if k.startswith("extra_gated")}
    data = DatasetCardData(pretty_name=f"Data index of {plan.repo_id.split('/')[1].removesuffix('-index')}", **gate)
    body = (
        f"# Data index of dataset version {plan.tag}\n\n"
        "What `bigcode-release index build` wrote for this version: a BM25 full-text index (`bm25/`), a "
        "membership index for verbatim spans (`membership/`, one folder per shard), a Bloom-filter portrait and the documents table, laid out as "
        "in a release directory. The data inspector and membership test Spaces download it at start. It holds "
        "the dataset's full text, so it is gated on the dataset's terms; files of owners who opted out after "
        "this version are removed in later versions and hidden by the Spaces.\n"
    )
    return DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}").content + "\n"


def add_generated_files(
    plans: list[RepoPlan],
    release: Path,
    settings: ReleaseSettings,
    report,
    endpoint: str | None = None,
    wheel: str | Path | None = None,
) -> None:
    """Write what the Hub needs and the release lacks (model cards; a Space's README with its
    configuration, its requirements and the toolkit's wheel; the intake repository's card) and add
    it to the plans. Generated files are deterministic, so a re-run finds them unchanged."""
    from bigcode_release.optout.hub_sync import INTAKE_README
    from bigcode_release.release import space_tree

    rows = report.results
    for plan in plans:
        folder = ReleaseLayout.at(release).hub_generated / plan.repo_type / plan.repo_id
        generated: dict[str, str] = {}
        if plan.kind == "model" and plan.card() is None:
            generated["README.md"] = render_model_card(plan, settings, rows)
        if plan.kind == "optout-intake":
            generated["README.md"] = INTAKE_README
        if plan.kind == "index":
            generated["README.md"] = index_card(plan, release)
        if plan.kind == "space":
            shipped = Path(plan.source)
            generated["README.md"] = space_tree.space_readme(shipped / "README.md", shipped.name, plan.space_variables)
            built = None if settings.spaces.requirement else space_tree.toolkit_wheel(wheel)
            generated["requirements.txt"] = space_tree.requirements_txt(
                plan.repo_id, endpoint or space_tree.hub_endpoint(), settings.spaces.requirement, built
            )
            plan.files = [f for f in plan.files if f.path_in_repo not in generated]
            if built is not None:
                plan.files.append(RepoFile(space_tree.WHEEL_PATH_IN_REPO, str(built), built.stat().st_size))
        for name, text in generated.items():
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
            plan.files.append(RepoFile(name, str(path), path.stat().st_size))
        plan.files.sort(key=lambda f: f.path_in_repo)
