"""Checks for the indicators the December 2025 edition added (data acquisition and processing, data
composition and replicability, compute with experiments, code access, train-test overlap, ...),
registered in the same `CHECKS` table as the rest."""

from __future__ import annotations

from bigcode_release.errors import MissingEvidence
from bigcode_release.layout import ReleaseLayout
from bigcode_release.manifest import read_manifest
from bigcode_release.release.transparency.checks import check
from bigcode_release.release.transparency.evidence import Evidence, one_significant
from bigcode_release.release.transparency.statuses import DERIVED, MEASURED

# how each source kind of a dataset recipe acquires its data
ACQUISITION = {
    "installed": "source code of the Python distributions installed on the build machine (an existing public "
    "package index's contents, read from disk)",
    "folder": "source code read from a folder of repository checkouts",
    "stack": "an existing public dataset: The Stack (read from its Parquet files)",
}
# what each processing step of the dataset build is for
PURPOSES = {
    "language": "keep the programming languages selected",
    "optout": "honour opt-out requests",
    "license": "keep permissively licensed code only",
    "size": "drop empty and oversized files",
    "decoding": "drop binary and non-UTF-8 files",
    "generated": "drop generated and minified code",
    "encoded_data": "drop encoded data blobs",
    "quality": "drop files failing line-length and character-fraction heuristics",
    "optout_copies": "remove copies of opted-out code elsewhere",
    "exact_dedup": "remove exact duplicates",
    "near_dedup": "remove near duplicates (MinHash)",
    "pii": "redact personal information and secrets",
    "decontamination": "remove evaluation benchmark solutions",
    "format": "write the training text (metadata prefixes)",
}


def _source(ev: Evidence) -> tuple[str, str]:
    return ev.value("dataset", "inputs.source")


def _register_none(name: str, what: str) -> None:
    """A check for a kind of data the pipeline never acquires: the recipe's source kind shows it."""

    def found(ev: Evidence):
        source, a = _source(ev)
        return f"none: the only data is {ACQUISITION.get(source, source)}; {what}", [a]

    found.__name__ = name
    check(DERIVED)(found)


for _name, _what in {
    "crawling": "no crawler is run, so there is no crawler name or opt-out protocol for sites",
    "usage_data": "no usage data is collected or trained on",
    "usage_data_notice": "there is no usage data to give notice of",
    "licensed_data": "no data is licensed from anyone",
    "licensed_data_compensation": "no data is bought",
    "human_generated_data": "no data is written for the model by people",
    "human_data_instructions": "no data is written by people, so no instructions exist",
    "synthetic_data": "no synthetic data is generated",
    "synthetic_data_purpose": "no synthetic data is generated",
}.items():
    _register_none(_name, _what)


@check(DERIVED)
def acquisition_methods(ev: Evidence):
    source, a = _source(ev)
    return (
        f"{ACQUISITION.get(source, source)}; no web crawling, no data from products or users, no licensed data, "
        "no new human-written data, no synthetic data"
    ), [a]


@check(DERIVED)
def public_datasets(ev: Evidence):
    source, a = _source(ev)
    repos, b = ev.value("dataset", "inputs.repositories")
    if source == "stack":
        return f"The Stack: {repos} repositories read", [a, b]
    return f"none: {ACQUISITION.get(source, source)} ({repos} repositories)", [a, b]


@check(DERIVED)
def processing_purpose(ev: Evidence):
    steps, a = ev.value("stats", "steps")
    return "; ".join(f"{s['step']}: {PURPOSES.get(s['step'], 'see the dataset card')}" for s in steps), [a]


@check(DERIVED)
def processing_techniques(ev: Evidence):
    settings, a = ev.value("dataset", "identity.settings")
    near = settings["dedup"].get("near") or {}
    return (
        f"datatrove pipeline steps; licenses from package metadata and license files against a shipped allow-list; "
        f"quality thresholds per language ({settings['quality']}); exact dedup on normalised content; near dedup "
        f"with MinHash ({near}); PII with regexes and detect-secrets; decontamination ({settings['decontamination']})"
    ), [a]


@check(MEASURED)
def language_composition(ev: Evidence):
    languages, a = ev.value("stats", "per_language")
    total = sum(r["bytes"] for r in languages) or 1
    top = ", ".join(f"{r['language']} {r['bytes'] / total:.1%}" for r in languages[:8])
    return f"{len(languages)} programming languages by bytes: {top}", [a]


@check(MEASURED)
def domain_composition(ev: Evidence):
    repos, a = ev.value("stats", "repos.included")
    licenses, b = ev.value("stats", "per_license")
    return (
        f"one domain: source code, from {repos} repositories under {sum(1 for r in licenses if r['kept_files'])} "
        "license expressions (per-file license column)"
    ), [a, b]


@check(DERIVED)
def data_replicability(ev: Evidence):
    identity, a = ev.value("dataset", "identity_hash")
    version, b = ev.value("dataset", "version")
    return (
        f"dataset {version} is identified by its inputs (recipe settings, read plan with each file's content hash, "
        f"opt-outs, benchmarks, tables: identity {identity[:12]}); rebuilding it with bigcode-release dataset build "
        "and the recorded recipe gives the same identity"
    ), [a, b]


@check(DERIVED)
def compute_with_experiments(ev: Evidence):
    runs = []
    for run in ReleaseLayout.at(ev.release).runs():
        flops = ((read_manifest(run) or {}).get("run") or {}).get("flops")
        if flops:
            runs.append((run.name, flops))
    if not runs:
        raise MissingEvidence("no training run with its compute recorded: run bigcode-release train", produced=False)
    total = sum(f for _, f in runs)
    return (
        f"{one_significant(total)} FLOPs (6 N D) over the {len(runs)} training run(s) of this release directory "
        "(ablations included)",
        [f"train/{name}/manifest.json: run.flops" for name, _ in runs],
    )


@check(DERIVED)
def code_access(ev: Evidence):
    recipe, a = ev.value("run", "recipe")
    tools, b = ev.value("run", "tools")
    return (
        f"the run's whole recipe ({len(recipe)} sections) and tool versions "
        f"({', '.join(f'{k} {v}' for k, v in sorted(tools.items()))}) are in its manifest, from which "
        "`bigcode-release train` runs it again; whether the toolkit's code is public is for its maintainers to state"
    ), [a, b]


@check(MEASURED)
def basic_properties(ev: Evidence):
    parameters, a = ev.value("run", "run.parameters")
    vocab, b = ev.value("tokenized", "counts.vocab_size")
    return (
        f"text (source code) in and out, {one_significant(parameters)} parameters ({parameters:,}, counted from the "
        f"weights), byte-level BPE tokenizer of {vocab} tokens"
    ), [a, b]


@check(DERIVED)
def model_dependencies(ev: Evidence):
    engine, a = ev.value("run", "engine")
    return f"none: trained from scratch ({engine} engine, randomly initialised weights)", [a]


@check(MEASURED)
def train_test_overlap(ev: Evidence):
    decontamination, a = ev.value("stats", "decontamination")
    if not decontamination.get("enabled"):
        raise MissingEvidence("decontamination was off for this dataset version: nothing measured", produced=False)
    return (
        f"measured against {', '.join(decontamination['benchmarks'])}: {decontamination['removed_files']} training "
        f"files held a benchmark problem ({decontamination['ngram_words']}-word n-grams, overlap >= "
        f"{decontamination['ngram_overlap']}) and were removed"
    ), [a]


@check(DERIVED)
def quantization(ev: Evidence):
    dtype, a = ev.value("run", "compute_dtype")
    return f"not quantized: the checkpoint's weights are written as trained ({dtype} compute)", [a]
