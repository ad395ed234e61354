"""One function per indicator the pipeline can answer (the `check` keys of tables/fmti_<edition>.yaml):
each reads the release's own files through `Evidence` and returns what it found and where, with its
status (`statuses.py`: measured, derived or estimated; the decorator gives the usual one), or raises
`MissingEvidence`. Sizes, compute and energy are given to one significant figure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bigcode_release.errors import MissingEvidence
from bigcode_release.release.transparency.energy import KG_CO2E_PER_KWH, METHOD, carbon_kg, energy_kwh
from bigcode_release.release.transparency.evidence import Evidence, one_significant
from bigcode_release.release.transparency.statuses import DERIVED, ESTIMATED, MEASURED

Found = tuple  # (what the release says, [file: field, ...]) or (..., status) when it differs from the usual
CHECKS: dict[str, Callable[[Evidence], tuple[str, list[str], str]]] = {}


def check(status: str) -> Callable:
    """Register an indicator check; `status` is what it usually finds (a check may return another)."""

    def register(function: Callable[[Evidence], Found]) -> Callable[[Evidence], Found]:
        def run(ev: Evidence) -> tuple[str, list[str], str]:
            found = function(ev)
            return (found[0], found[1], found[2] if len(found) > 2 else status)

        run.__name__ = run.__qualname__ = function.__name__
        run.__doc__ = function.__doc__
        CHECKS[function.__name__] = run
        return function

    return register


def _repos(ev: Evidence, kind: str) -> list:
    found = [p for p in ev.plan() if p.kind == kind]
    if not found:
        raise MissingEvidence(f"the release plan has no {kind} repository", produced=False)
    return found


# -- upstream: data -------------------------------------------------------------------------------
@check(MEASURED)
def data_size(ev: Evidence) -> Found:
    files, a = ev.value("stats", "totals.kept_files")
    size, b = ev.value("stats", "totals.kept_bytes")
    tokens, c = ev.value("tokenized", "counts.train_tokens")
    return (
        f"{one_significant(files)} files, {one_significant(size)} bytes, {one_significant(tokens)} training tokens",
        [a, b, c],
    )


@check(MEASURED)
def data_sources(ev: Evidence) -> Found:
    repos, a = ev.value("stats", "repos.included")
    source, b = ev.value("dataset", "inputs.source")
    return f"{repos} repositories from source '{source}', listed one by one in repos.parquet", [
        a,
        b,
        str(ev.path("repos").name),
    ]


@check(MEASURED)
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


@check(DERIVED)
def source_selection(ev: Evidence) -> Found:
    languages, a = ev.value("dataset", "identity.settings.languages.select")
    extra, b = ev.value("dataset", "identity.settings.license.extra_allow")
    return (
        f"languages: {languages}; permissive licenses only (shipped allow-list + {extra or 'nothing'}); "
        "opt-outs removed"
    ), [a, b]


@check(MEASURED)
def data_curation(ev: Evidence) -> Found:
    steps, a = ev.value("stats", "steps")
    names = [s["step"] for s in steps if "kept" in s]
    return f"{len(names)} steps, each with its in/kept/dropped counts: {', '.join(names)}", [a]


@check(DERIVED)
def data_augmentation(ev: Evidence) -> Found:
    prefixes, a = ev.value("dataset", "identity.settings.format.metadata")
    fim, b = ev.value("run", "recipe.fim.rate")
    return (
        f"no synthetic data; metadata prefixes with probabilities {prefixes}; fill-in-the-middle at rate {fim} "
        "during training"
    ), [a, b]


@check(MEASURED)
def harmful_filtration(ev: Evidence) -> Found:
    steps, a = ev.value("stats", "steps")
    return (
        "no harmful-content filter is run (source code); the steps run are "
        + ", ".join(s["step"] for s in steps if "kept" in s)
    ), [a]


@check(MEASURED)
def copyright_status(ev: Evidence) -> Found:
    licenses, a = ev.value("stats", "per_license")
    kept = [row for row in licenses if row["kept_files"]]
    return (
        f"all files copyrighted by their authors and licensed under {len(kept)} permissive licenses, per file "
        "(license column)"
    ), [a]


@check(MEASURED)
def data_license(ev: Evidence) -> Found:
    licenses, a = ev.value("stats", "per_license")
    total = sum(r["kept_bytes"] for r in licenses) or 1
    top = sorted(licenses, key=lambda r: -r["kept_bytes"])[:3]
    return "; ".join(
        f"{r['license']} {r['kept_bytes'] / total:.0%}" for r in top
    ) + " (shares of bytes; full table on the card)", [a]


@check(MEASURED)
def personal_information(ev: Evidence) -> Found:
    replaced, a = ev.value("stats", "pii.replaced")
    files, b = ev.value("stats", "pii.files_with_pii")
    return f"{files} files held emails, IPs, keys or passwords; replaced: {replaced}", [a, b]


# -- upstream: access, compute, methods, mitigations ----------------------------------------------------
@check(MEASURED)
def queryable_access(ev: Evidence) -> Found:
    index, a = ev.value("index", "kinds")
    return f"search and membership indexes over the data: {index}", [a]


def _access(repo: dict) -> str:
    gate = f"gated ({repo['gated']}: accept the terms)" if repo.get("gated") else "ungated"
    return f"{'private' if repo.get('private') else 'public'}, {gate}"


@check(MEASURED)
def direct_access(ev: Evidence) -> Found:
    repo, where = ev.pushed("dataset")
    return f"the dataset is published: {repo['url']} (tag {repo.get('tag')}, {_access(repo)})", [where]


@check(DERIVED)
def compute_usage(ev: Evidence) -> Found:
    flops, a = ev.value("run", "run.flops")
    return f"{one_significant(flops)} FLOPs (6 N D), the final training run only", [a]


def _processes(ev: Evidence) -> tuple[dict, str]:
    """The final run's processes summed (every resume); a run written before they were recorded
    raises, naming why."""
    try:
        return ev.value("run", "run.processes")
    except MissingEvidence:
        raise MissingEvidence(
            f"{ev.path('run')} predates per-process accounting (run.processes): train the run again", produced=False
        ) from None


@check(MEASURED)
def development_duration(ev: Evidence) -> Found:
    processes, a = _processes(ev)
    return (
        f"{one_significant(processes['wall_seconds'] / 3600)} hours of training in {processes['count']} "
        "process(es) of the final run (resumes included)"
    ), [a]


@check(MEASURED)
def compute_hardware(ev: Evidence) -> Found:
    processes, a = _processes(ev)
    world, b = ev.value("run", "run.world_size")
    machines = "; ".join(
        ", ".join(
            f"{k} {v}"
            for k, v in m["machine"].items()
            if k in ("device", "cpu_model", "cpu_count", "gpu_count", "gpu_names")
        )
        for m in processes["machines"]
    )
    return f"{world} worker process(es) per launch on: {machines} (read from the machine)", [a, b]


def _estimated_kwh(processes: dict) -> float:
    return sum(
        energy_kwh(m["machine"], m["wall_seconds"], int(m["machine"].get("gpu_count") or 1))
        for m in processes["machines"]
    )


@check(ESTIMATED)
def energy_usage(ev: Evidence) -> Found:
    processes, a = _processes(ev)
    if processes["energy_kwh"] is not None:  # every process read a power counter
        counters = ", ".join(processes["power_counters"])
        return (
            f"{one_significant(processes['energy_kwh'])} kWh read from {counters} over {processes['count']} "
            "process(es) of the final run (package energy; memory and cooling not included)",
            [a],
            MEASURED,
        )
    kwh = _estimated_kwh(processes)
    return f"{one_significant(kwh)} kWh over {processes['count']} process(es) of the final run ({METHOD})", [a]


@check(ESTIMATED)
def carbon_emissions(ev: Evidence) -> Found:
    processes, a = _processes(ev)
    if processes["energy_kwh"] is not None:
        kwh, how = processes["energy_kwh"], "measured energy"
    else:
        kwh, how = _estimated_kwh(processes), "estimated energy"
    return (
        f"{one_significant(carbon_kg(kwh))} kg CO2e from {how} at {KG_CO2E_PER_KWH} kg CO2e/kWh (IEA 2019 world "
        "average; the grid's real intensity was not read)"
    ), [a]


@check(DERIVED)
def model_stages(ev: Evidence) -> Found:
    engine, a = ev.value("run", "engine")
    steps, b = ev.value("run", "run.steps")
    return f"one stage: pretraining from scratch ({engine} engine, {steps} steps); no fine-tuning or RLHF", [a, b]


@check(DERIVED)
def model_objectives(ev: Evidence) -> Found:
    fim, a = ev.value("run", "recipe.fim.rate")
    return f"next-token prediction (cross-entropy) with fill-in-the-middle on {fim:.0%} of documents", [a]


@check(MEASURED)
def core_frameworks(ev: Evidence) -> Found:
    tools, a = ev.value("run", "tools")
    return ", ".join(f"{k} {v}" for k, v in sorted(tools.items())), [a]


@check(MEASURED)
def additional_dependencies(ev: Evidence) -> Found:
    tools, a = ev.value("dataset", "tools")
    return "data pipeline: " + ", ".join(f"{k} {v}" for k, v in sorted(tools.items())), [a]


@check(MEASURED)
def privacy_mitigations(ev: Evidence) -> Found:
    detectors, a = ev.value("stats", "pii.detectors")
    replaced, b = ev.value("stats", "pii.replaced")
    return f"PII redaction ({', '.join(k for k, on in detectors.items() if on)}): {replaced}", [a, b]


@check(MEASURED)
def copyright_mitigations(ev: Evidence) -> Found:
    steps, a = ev.value("stats", "steps")
    dropped = {s["step"]: sum(s.get("dropped", {}).values()) for s in steps if "kept" in s}
    optout, b = ev.value("stats", "optout.removed_files")
    return (
        f"permissive licenses only ({dropped.get('license', 0)} files dropped by license), opt-out honoured "
        f"({optout} files removed), provenance kept per file"
    ), [a, b]


# -- model ------------------------------------------------------------------------------------------
@check(DERIVED)
def input_modality(ev: Evidence) -> Found:
    vocab, a = ev.value("tokenized", "counts.vocab_size")
    return f"text (source code), byte-level BPE with {vocab} tokens", [a]


@check(DERIVED)
def output_modality(ev: Evidence) -> Found:
    vocab, a = ev.value("tokenized", "counts.vocab_size")
    return f"text (source code) over the same {vocab}-token vocabulary", [a]


@check(DERIVED)
def model_components(ev: Evidence) -> Found:
    model, a = ev.value("run", "recipe.model")
    tied = "tied" if model.get("tie_word_embeddings") else "separate"
    return (
        f"token embeddings, {model['num_hidden_layers']} decoder layers (attention + MLP), RMSNorm, LM head "
        f"({tied} with the embeddings), tokenizer"
    ), [a]


@check(MEASURED)
def model_size(ev: Evidence) -> Found:
    parameters, a = ev.value("run", "run.parameters")
    return f"{one_significant(parameters)} parameters ({parameters:,}, counted from the weights)", [a]


def attention_kind(heads: int, kv_heads: int) -> str:
    """What heads vs key/value heads make: multi-head, grouped-query or multi-query attention."""
    if kv_heads == heads:
        return "multi-head attention"
    return "multi-query attention" if kv_heads == 1 else "grouped-query attention"


@check(DERIVED)
def model_architecture(ev: Evidence) -> Found:
    model, a = ev.value("run", "recipe.model")
    heads, kv_heads = model["num_attention_heads"], model["num_key_value_heads"]
    return (
        f"Llama decoder: hidden {model['hidden_size']}, {model['num_hidden_layers']} layers, "
        f"{heads} heads / {kv_heads} KV heads ({attention_kind(heads, kv_heads)}), "
        f"MLP {model['intermediate_size']}, RoPE theta {model['rope_theta']}"
    ), [a]


@check(DERIVED)
def model_documentation(ev: Evidence) -> Found:
    _repos(ev, "model")
    return "a model card rendered from the run's manifest and evaluation (model_cards/model_card.md)", [
        "release plan: model"
    ]


@check(MEASURED)
def access_protocol(ev: Evidence) -> Found:
    repo, where = ev.pushed("model")
    return f"Hugging Face Hub, {_access(repo)}: {repo['url']}", [where]


@check(MEASURED)
def blackbox_access(ev: Evidence) -> Found:
    repo, where = ev.pushed("model")
    return (
        f"anyone granted access to {repo['url']} can serve it over TGI's protocol (bigcode-release serve, TGI, vLLM)",
        [where],
    )


@check(MEASURED)
def full_access(ev: Evidence) -> Found:
    repo, where = ev.pushed("model")
    return f"weights, config and tokenizer published: {repo['url']} (tag {repo.get('tag')}, {_access(repo)})", [where]


@check(MEASURED)
def capabilities_demonstration(ev: Evidence) -> Found:
    path = ev.path("samples")
    count = sum(1 for _ in path.open(encoding="utf-8"))
    return f"{count} generated completions with their execution verdicts", [f"{path.relative_to(ev.release)}"]


@check(MEASURED)
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


@check(DERIVED)
def capabilities_reproducibility(ev: Evidence) -> Found:
    settings, a = ev.value("eval", "settings")
    checkpoint, b = ev.value("eval", "checkpoint")
    options = [
        f"--tasks {','.join(t['name'] for t in settings['tasks'])}",
        f"--n {settings['n']}",
        f"--k {','.join(str(k) for k in settings['k'])}",
        f"--temperature {settings['temperature']}",
        f"--max-new-tokens {settings['max_new_tokens']}",
        f"--seed {settings['seed']}",
        *([f"--max-problems {settings['max_problems']}"] if settings.get("max_problems") else []),
    ]
    # the checkpoint in this release directory (the results name where it was when evaluated)
    path = ev.path("eval").parents[2] / "checkpoints" / Path(checkpoint).name
    shown = f"<release>/{path.relative_to(ev.release)}" if path.is_relative_to(ev.release) else str(path)
    command = f"bigcode-release eval {shown} {' '.join(options)} --allow-code-execution"
    return f"rerun with `{command}` (the prompts are the tasks' own; sandbox limits recorded)", [a, b]


@check(MEASURED)
def unintentional_harm(ev: Evidence) -> Found:
    kinds, a = ev.value("index", "kinds")
    try:
        removed, b = ev.value("stats", "decontamination.removed_files")
        decontamination = f"; {removed} benchmark files removed by decontamination"
    except MissingEvidence:
        decontamination, b = "; decontamination was not run", "stats.json: decontamination"
    return f"membership attribution of outputs against the data ({kinds}){decontamination}", [a, b]


@check(MEASURED)
def unintentional_harm_reproducibility(ev: Evidence) -> Found:
    manifest_hash, a = ev.value("index", "dataset_manifest_hash")
    return f"indexes built from dataset manifest {manifest_hash[:12]}; rerun with bigcode-release membership query", [a]


@check(MEASURED)
def inference_duration(ev: Evidence) -> Found:
    seconds, a = ev.value("eval", "seconds")
    scores, b = ev.value("eval", "scores")
    samples = sum(s.get("samples", 0) for s in scores.values()) or 1  # likelihood tasks generate nothing
    device, c = ev.value("eval", "generator.device")
    return f"{one_significant(seconds / samples)} s per completion (generation and scoring) on {device}", [a, b, c]


@check(DERIVED)
def inference_compute(ev: Evidence) -> Found:
    parameters, a = ev.value("run", "run.parameters")
    return f"{one_significant(2 * parameters)} FLOPs per generated token (2 N)", [a]


# -- downstream -------------------------------------------------------------------------------------
@check(DERIVED)
def release_process(ev: Evidence) -> Found:
    repos = ev.plan()
    ends = ", ".join(f"{p.kind}: {'stays private' if p.private else 'public'}, {p.gate or 'ungated'}" for p in repos)
    return f"each repository is created private, gated, filled and tagged, then given its visibility ({ends})", [
        "release plan"
    ]


@check(MEASURED)
def distribution_channels(ev: Evidence) -> Found:
    ev.pushed("dataset")
    record, a = ev.value("hub", "repos")
    return "Hugging Face Hub: " + ", ".join(r["url"] for r in record if not r.get("private")), [a]


@check(MEASURED)
def generated_content_detection(ev: Evidence) -> Found:
    kinds, a = ev.value("index", "kinds")
    return f"membership test of any text against the training data ({kinds}), and a downloadable Bloom portrait", [a]


@check(DERIVED)
def model_license(ev: Evidence) -> Found:
    _repos(ev, "model")
    if ev.settings is None:
        raise MissingEvidence("no release settings were given (the model's license is set there)", produced=False)
    gate = ev.settings.model.gate
    gated = gate is not None and gate.mode != "none"
    return (
        f"{ev.settings.model.license}, {'accepted at the gate' if gated else 'stated on the model card (no gate)'}",
        [f"{ev.settings.origin}: model.license, model.gate"],
    )


@check(DERIVED)
def terms_of_service(ev: Evidence) -> Found:
    prompt, a = ev.value("dataset", "identity.settings.card.gate.prompt")
    return f"dataset terms of use accepted at the gate ({len(prompt.split())} words)", [a]


@check(DERIVED)
def versioning_protocol(ev: Evidence) -> Found:
    version, a = ev.value("dataset", "version")
    return f"dataset versions are immutable tagged revisions (current {version}); checkpoints tagged by step", [a]


@check(MEASURED)
def change_log(ev: Evidence) -> Found:
    optout, a = ev.value("stats", "optout")
    version, b = ev.value("dataset", "version")
    return (
        f"each version's manifest and stats record what changed (version {version}: "
        f"{optout.get('removed_files', 0)} files removed by opt-out)"
    ), [a, b]


@check(DERIVED)
def feedback_mechanism(ev: Evidence) -> Found:
    spaces = _repos(ev, "space")
    return f"opt-out requests through the Space(s) {', '.join(s.repo_id.split('/')[1] for s in spaces)} and the CLI", [
        "release plan: space"
    ]


@check(MEASURED)
def feedback_summary(ev: Evidence) -> Found:
    import statistics

    from bigcode_release.optout.registry import OptOutRegistry

    optout, a = ev.value("stats", "optout")
    registry = ev.layout.registry
    text = (
        f"opt-out requests through the Space and the CLI; {len(optout.get('request_ids') or [])} honoured by this "
        f"version, {optout.get('removed_files', 0)} files removed"
    )
    if not registry.is_file():
        return text, [a]
    with OptOutRegistry(registry) as opened:
        requests = opened.requests()
        waits = [
            next(e.at for e in opened.history(r.id) if e.kind == "applied") - r.submitted_at
            for r in requests
            if r.status == "applied"
        ]
    by_status = ", ".join(f"{n} {s}" for s, n in sorted(Counter(r.status for r in requests).items()))
    removal = f"; median time from request to removal {_duration(statistics.median(waits))}" if waits else ""
    count = f"{len(requests)} request{'' if len(requests) == 1 else 's'}"
    return f"{text}; registry: {count} ({by_status}){removal}", [a, f"{registry.name}: requests, events"]


def _duration(seconds: float) -> str:
    """A time span as people say it: 40 minutes, 5.2 hours, 3.0 days."""
    if seconds < 3600:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours" if seconds < 86400 else f"{seconds / 86400:.1f} days"


@check(DERIVED)
def deployer_documentation(ev: Evidence) -> Found:
    _repos(ev, "model")
    card, a = ev.text("card")
    return "the model card (usage, serving) and the dataset card", ["release plan: model", a]
