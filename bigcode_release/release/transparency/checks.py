"""One function per measurable indicator (the `check` keys of tables/fmti_indicators.yaml): each
reads the release's own files through `Evidence` and returns what it found and where, or raises
`MissingEvidence`. Sizes, compute and energy are given to one significant figure."""

from __future__ import annotations

from collections.abc import Callable

from bigcode_release.errors import MissingEvidence
from bigcode_release.release.transparency.energy import METHOD, carbon_kg, energy_kwh
from bigcode_release.release.transparency.evidence import Evidence, one_significant

Found = tuple[str, list[str]]  # (what the release says, [file: field, ...])
CHECKS: dict[str, Callable[[Evidence], Found]] = {}


def check(function: Callable[[Evidence], Found]) -> Callable[[Evidence], Found]:
    CHECKS[function.__name__] = function
    return function


def _repos(ev: Evidence, kind: str) -> list:
    found = [p for p in ev.plan() if p.kind == kind]
    if not found:
        raise MissingEvidence(f"the release plan has no {kind} repository", produced=False)
    return found


# -- upstream: data -------------------------------------------------------------------------------
@check
def data_size(ev: Evidence) -> Found:
    files, a = ev.value("stats", "totals.kept_files")
    size, b = ev.value("stats", "totals.kept_bytes")
    tokens, c = ev.value("tokenized", "counts.train_tokens")
    return (
        f"{one_significant(files)} files, {one_significant(size)} bytes, {one_significant(tokens)} training tokens",
        [a, b, c],
    )


@check
def data_sources(ev: Evidence) -> Found:
    repos, a = ev.value("stats", "repos.included")
    source, b = ev.value("dataset", "inputs.source")
    return f"{repos} repositories from source '{source}', listed one by one in repos.parquet", [
        a,
        b,
        str(ev.path("repos").name),
    ]


@check
def data_creators(ev: Evidence) -> Found:
    import pyarrow.parquet as pq

    path = ev.path("repos")
    if not path.is_file():
        raise MissingEvidence(f"{path} is missing: run bigcode-release dataset build")
    table = pq.read_table(path, columns=["owner", "included"]).to_pydict()
    owners = {o for o, kept in zip(table["owner"], table["included"]) if kept}
    return f"code written by the {len(owners)} accounts owning the included repositories", [
        f"{path.name}: owner, included"
    ]


@check
def source_selection(ev: Evidence) -> Found:
    languages, a = ev.value("dataset", "identity.settings.languages.select")
    extra, b = ev.value("dataset", "identity.settings.license.extra_allow")
    return (
        f"languages: {languages}; permissive licenses only (shipped allow-list + {extra or 'nothing'}); "
        "opt-outs removed"
    ), [a, b]


@check
def data_curation(ev: Evidence) -> Found:
    steps, a = ev.value("stats", "steps")
    names = [s["step"] for s in steps if "kept" in s]
    return f"{len(names)} steps, each with its in/kept/dropped counts: {', '.join(names)}", [a]


@check
def data_augmentation(ev: Evidence) -> Found:
    prefixes, a = ev.value("dataset", "identity.settings.format.metadata")
    fim, b = ev.value("run", "recipe.fim.rate")
    return (
        f"no synthetic data; metadata prefixes with probabilities {prefixes}; fill-in-the-middle at rate {fim} "
        "during training"
    ), [a, b]


@check
def harmful_filtration(ev: Evidence) -> Found:
    steps, a = ev.value("stats", "steps")
    return (
        "no harmful-content filter is run (source code); the steps run are "
        + ", ".join(s["step"] for s in steps if "kept" in s)
    ), [a]


@check
def copyright_status(ev: Evidence) -> Found:
    licenses, a = ev.value("stats", "per_license")
    kept = [row for row in licenses if row["kept_files"]]
    return (
        f"all files copyrighted by their authors and licensed under {len(kept)} permissive licenses, per file "
        "(license column)"
    ), [a]


@check
def data_license(ev: Evidence) -> Found:
    licenses, a = ev.value("stats", "per_license")
    total = sum(r["kept_bytes"] for r in licenses) or 1
    top = sorted(licenses, key=lambda r: -r["kept_bytes"])[:3]
    return "; ".join(
        f"{r['license']} {r['kept_bytes'] / total:.0%}" for r in top
    ) + " (shares of bytes; full table on the card)", [a]


@check
def personal_information(ev: Evidence) -> Found:
    replaced, a = ev.value("stats", "pii.replaced")
    files, b = ev.value("stats", "pii.files_with_pii")
    return f"{files} files held emails, IPs, keys or passwords; replaced: {replaced}", [a, b]


# -- upstream: access, compute, methods, mitigations ----------------------------------------------------
@check
def queryable_access(ev: Evidence) -> Found:
    index, a = ev.value("index", "kinds")
    return f"search and membership indexes over the data: {index}", [a]


@check
def direct_access(ev: Evidence) -> Found:
    repo = _repos(ev, "dataset")[-1]
    return f"the dataset is published on the Hub ({'gated: ' + repo.gate if repo.gate else 'ungated'})", [
        "release plan: dataset"
    ]


@check
def compute_usage(ev: Evidence) -> Found:
    flops, a = ev.value("run", "run.flops")
    return f"{one_significant(flops)} FLOPs (6 N D), the final training run only", [a]


@check
def development_duration(ev: Evidence) -> Found:
    seconds, a = ev.value("run", "run.wall_seconds")
    return f"{one_significant(seconds / 3600)} hours of training, the last process of the final run only", [a]


@check
def compute_hardware(ev: Evidence) -> Found:
    hardware, a = ev.value("run", "run.hardware")
    world, b = ev.value("run", "run.world_size")
    return f"{world} process(es) on {', '.join(f'{k} {v}' for k, v in hardware.items())}", [a, b]


def _run_energy(ev: Evidence) -> tuple[float, list[str]]:
    hardware, a = ev.value("run", "run.hardware")
    seconds, b = ev.value("run", "run.wall_seconds")
    world, c = ev.value("run", "run.world_size")
    return energy_kwh(hardware, seconds, world), [a, b, c]


@check
def energy_usage(ev: Evidence) -> Found:
    kwh, sources = _run_energy(ev)
    return f"{one_significant(kwh)} kWh, the final run only ({METHOD})", sources


@check
def carbon_emissions(ev: Evidence) -> Found:
    kwh, sources = _run_energy(ev)
    return f"{one_significant(carbon_kg(kwh))} kg CO2e, the final run only ({METHOD})", sources


@check
def model_stages(ev: Evidence) -> Found:
    engine, a = ev.value("run", "engine")
    steps, b = ev.value("run", "run.steps")
    return f"one stage: pretraining from scratch ({engine} engine, {steps} steps); no fine-tuning or RLHF", [a, b]


@check
def model_objectives(ev: Evidence) -> Found:
    fim, a = ev.value("run", "recipe.fim.rate")
    return f"next-token prediction (cross-entropy) with fill-in-the-middle on {fim:.0%} of documents", [a]


@check
def core_frameworks(ev: Evidence) -> Found:
    tools, a = ev.value("run", "tools")
    return ", ".join(f"{k} {v}" for k, v in sorted(tools.items())), [a]


@check
def additional_dependencies(ev: Evidence) -> Found:
    tools, a = ev.value("dataset", "tools")
    return "data pipeline: " + ", ".join(f"{k} {v}" for k, v in sorted(tools.items())), [a]


@check
def privacy_mitigations(ev: Evidence) -> Found:
    detectors, a = ev.value("stats", "pii.detectors")
    replaced, b = ev.value("stats", "pii.replaced")
    return f"PII redaction ({', '.join(k for k, on in detectors.items() if on)}): {replaced}", [a, b]


@check
def copyright_mitigations(ev: Evidence) -> Found:
    steps, a = ev.value("stats", "steps")
    dropped = {s["step"]: sum(s.get("dropped", {}).values()) for s in steps if "kept" in s}
    optout, b = ev.value("stats", "optout.removed_files")
    return (
        f"permissive licenses only ({dropped.get('license', 0)} files dropped by license), opt-out honoured "
        f"({optout} files removed), provenance kept per file"
    ), [a, b]


# -- model ------------------------------------------------------------------------------------------
@check
def input_modality(ev: Evidence) -> Found:
    vocab, a = ev.value("tokenized", "counts.vocab_size")
    return f"text (source code), byte-level BPE with {vocab} tokens", [a]


@check
def output_modality(ev: Evidence) -> Found:
    vocab, a = ev.value("tokenized", "counts.vocab_size")
    return f"text (source code) over the same {vocab}-token vocabulary", [a]


@check
def model_components(ev: Evidence) -> Found:
    model, a = ev.value("run", "recipe.model")
    tied = "tied" if model.get("tie_word_embeddings") else "separate"
    return (
        f"token embeddings, {model['num_hidden_layers']} decoder layers (attention + MLP), RMSNorm, LM head "
        f"({tied} with the embeddings), tokenizer"
    ), [a]


@check
def model_size(ev: Evidence) -> Found:
    parameters, a = ev.value("run", "run.parameters")
    return f"{one_significant(parameters)} parameters ({parameters:,}, counted from the weights)", [a]


@check
def model_architecture(ev: Evidence) -> Found:
    model, a = ev.value("run", "recipe.model")
    return (
        f"Llama decoder: hidden {model['hidden_size']}, {model['num_hidden_layers']} layers, "
        f"{model['num_attention_heads']} heads / {model['num_key_value_heads']} KV heads (GQA), "
        f"MLP {model['intermediate_size']}, RoPE theta {model['rope_theta']}"
    ), [a]


@check
def model_documentation(ev: Evidence) -> Found:
    _repos(ev, "model")
    return "a model card rendered from the run's manifest and evaluation (model_cards/model_card.md)", [
        "release plan: model"
    ]


@check
def access_protocol(ev: Evidence) -> Found:
    repo = _repos(ev, "model")[-1]
    gate = f"gated ({repo.gate}: accept the license agreement)" if repo.gate else "ungated"
    return f"Hugging Face Hub, {'private' if repo.private else 'public'}, {gate}", ["release plan: model"]


@check
def blackbox_access(ev: Evidence) -> Found:
    _repos(ev, "model")
    return "anyone with access can serve it over TGI's protocol (bigcode-release serve, TGI, vLLM)", [
        "release plan: model"
    ]


@check
def full_access(ev: Evidence) -> Found:
    repo = _repos(ev, "model")[-1]
    return f"weights, config and tokenizer published ({repo.repo_id.split('/')[1]}, tag {repo.tag})", [
        "release plan: model"
    ]


@check
def capabilities_demonstration(ev: Evidence) -> Found:
    path = ev.path("samples")
    count = sum(1 for _ in path.open(encoding="utf-8"))
    return f"{count} generated completions with their execution verdicts", [f"{path.relative_to(ev.release)}"]


@check
def capabilities_evaluation(ev: Evidence) -> Found:
    scores, a = ev.value("eval", "scores")
    parts = [
        f"{task}: "
        + ", ".join(
            f"{k} {v:.3f}"
            for k, v in score.items()
            if k.startswith("pass@") and not k.endswith("_stderr") and v is not None
        )
        for task, score in scores.items()
    ]
    return "; ".join(parts), [a]


@check
def capabilities_reproducibility(ev: Evidence) -> Found:
    settings, a = ev.value("eval", "settings")
    return (
        f"n={settings['n']}, k={settings['k']}, temperature {settings['temperature']}, max_new_tokens "
        f"{settings['max_new_tokens']}, seed {settings['seed']}, sandbox limits recorded; rerun with bigcode-release eval"
    ), [a]


@check
def unintentional_harm(ev: Evidence) -> Found:
    kinds, a = ev.value("index", "kinds")
    try:
        removed, b = ev.value("stats", "decontamination.removed_files")
        decontamination = f"; {removed} benchmark files removed by decontamination"
    except MissingEvidence:
        decontamination, b = "; decontamination was not run", "stats.json: decontamination"
    return f"membership attribution of outputs against the data ({kinds}){decontamination}", [a, b]


@check
def unintentional_harm_reproducibility(ev: Evidence) -> Found:
    manifest_hash, a = ev.value("index", "dataset_manifest_hash")
    return f"indexes built from dataset manifest {manifest_hash[:12]}; rerun with bigcode-release membership query", [a]


@check
def inference_duration(ev: Evidence) -> Found:
    seconds, a = ev.value("eval", "seconds")
    scores, b = ev.value("eval", "scores")
    samples = sum(s["samples"] for s in scores.values()) or 1
    device, c = ev.value("eval", "generator.device")
    return f"{one_significant(seconds / samples)} s per completion (generation and scoring) on {device}", [a, b, c]


@check
def inference_compute(ev: Evidence) -> Found:
    parameters, a = ev.value("run", "run.parameters")
    return f"{one_significant(2 * parameters)} FLOPs per generated token (2 N)", [a]


# -- downstream -------------------------------------------------------------------------------------
@check
def release_process(ev: Evidence) -> Found:
    repos = ev.plan()
    gates = ", ".join(f"{p.kind}: {p.gate or 'ungated'}" for p in repos)
    return f"each repository created private, gated, filled, tagged, then made public ({gates})", ["release plan"]


@check
def distribution_channels(ev: Evidence) -> Found:
    repos = ev.plan()
    return (
        "Hugging Face Hub: "
        + ", ".join(f"{p.repo_type} {p.repo_id.split('/')[1]}" for p in repos)
        + " (URLs of the last push in hub-release.json)"
    ), ["release plan"]


@check
def generated_content_detection(ev: Evidence) -> Found:
    kinds, a = ev.value("index", "kinds")
    return f"membership test of any text against the training data ({kinds}), and a downloadable Bloom portrait", [a]


@check
def model_license(ev: Evidence) -> Found:
    _repos(ev, "model")
    license_id = (ev.settings.model.license if ev.settings else None) or "bigcode-openrail-m"
    return f"{license_id}, accepted at the gate", ["recipes/release.yaml: model.license"]


@check
def terms_of_service(ev: Evidence) -> Found:
    prompt, a = ev.value("dataset", "identity.settings.card.gate.prompt")
    return f"dataset terms of use accepted at the gate ({len(prompt.split())} words)", [a]


@check
def versioning_protocol(ev: Evidence) -> Found:
    version, a = ev.value("dataset", "version")
    return f"dataset versions are immutable tagged revisions (current {version}); checkpoints tagged by step", [a]


@check
def change_log(ev: Evidence) -> Found:
    optout, a = ev.value("stats", "optout")
    version, b = ev.value("dataset", "version")
    return (
        f"each version's manifest and stats record what changed (version {version}: "
        f"{optout.get('removed_files', 0)} files removed by opt-out)"
    ), [a, b]


@check
def feedback_mechanism(ev: Evidence) -> Found:
    spaces = _repos(ev, "space")
    return f"opt-out requests through the Space(s) {', '.join(s.repo_id.split('/')[1] for s in spaces)} and the CLI", [
        "release plan: space"
    ]


@check
def feedback_summary(ev: Evidence) -> Found:
    optout, a = ev.value("stats", "optout")
    return (
        f"{len(optout.get('request_ids') or [])} opt-out requests honoured, {optout.get('removed_files', 0)} files removed",
        [a],
    )


@check
def deployer_documentation(ev: Evidence) -> Found:
    _repos(ev, "model")
    card, a = ev.text("card")
    return "the model card (usage, serving) and the dataset card", ["release plan: model", a]
