"""Every error the toolkit raises on purpose, in one place.

Each class names a kind of failure a caller may want to catch; messages say what was wrong
and what to do next.
"""


class BigcodeReleaseError(Exception):
    """Base class of every error raised on purpose by bigcode-release."""


class MissingExtraError(BigcodeReleaseError):
    """A command needs an optional dependency that is not installed; the message names the extra."""


class RecipeError(BigcodeReleaseError):
    """A recipe is invalid. Raised before any work starts.

    `problems` holds one `(key_path, reason)` pair per problem found.
    """

    def __init__(self, path: str, problems: list[tuple[str, str]]):
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {key}: {reason}" for key, reason in problems)
        super().__init__(f"recipe {path} is invalid ({len(problems)} problem(s)):\n{lines}")


class BenchmarkFileError(BigcodeReleaseError):
    """A benchmark file named for decontamination cannot be read or lacks a field."""


class SourceError(BigcodeReleaseError):
    """A data source cannot be read at all (an empty source, a missing folder)."""


class OptOutListError(BigcodeReleaseError):
    """An opt-out list file is malformed; the message names the file and line."""


class VersionExistsError(BigcodeReleaseError):
    """A dataset version already exists with different inputs; versions are never overwritten."""


class BuildError(BigcodeReleaseError):
    """A dataset build failed; the message names the failing task and its log."""


class ReleaseDirectoryError(BigcodeReleaseError):
    """A path is not a (complete) release or dataset directory."""


class OptOutRequestError(BigcodeReleaseError):
    """An opt-out request is refused (bad username, someone else's repository, too large); the
    message says which input and why. Nothing is written."""


class OptOutRecordError(BigcodeReleaseError):
    """A file of an opt-out intake repository is not a request (or status) record; the message names it."""


class OptOutIntakeError(BigcodeReleaseError):
    """A request could not be stored where requests are kept (the Hub refused or could not be reached);
    nothing was filed and the requester may try again."""


class RegistryError(BigcodeReleaseError):
    """The opt-out registry cannot do what was asked (unknown request, a decision out of order)."""


class TokenizerError(BigcodeReleaseError):
    """A tokenizer cannot be trained or loaded as asked (a vocabulary too small, a missing file)."""


class TokenizedDataError(BigcodeReleaseError):
    """Tokenized shards (`.ds`, `.ds.index`, `.ds.metadata`) are missing or inconsistent; the
    message names the file and what is wrong."""


class TrainConfigError(BigcodeReleaseError):
    """A training layout is impossible (heads not divisible by tp, layers by pp, a world size that
    does not match); raised before any work starts. `problems` holds `(key, problem, fix)`."""

    def __init__(self, origin: str, problems: list[tuple[str, str, str]]):
        self.origin = origin
        self.problems = problems
        lines = "\n".join(f"  - {key}: {problem}; fix: {fix}" for key, problem, fix in problems)
        super().__init__(f"{origin}: the training layout is impossible ({len(problems)} problem(s)):\n{lines}")


class TrainingError(BigcodeReleaseError):
    """A training run cannot start or continue (no data, a checkpoint that does not match)."""


class CodeExecutionError(BigcodeReleaseError):
    """Generated code cannot be run: the user has not opted in, or no sandbox is available here."""


class EvaluationError(BigcodeReleaseError):
    """A checkpoint cannot be evaluated: missing files, settings that contradict, an unusable endpoint."""


class ServingError(BigcodeReleaseError):
    """A model cannot be served, or an endpoint cannot be used (unreachable, not TGI, a refused request)."""


class FinetuneError(BigcodeReleaseError):
    """A fine-tuning run cannot start: no usable code, a base model or settings that do not fit."""


class ReleaseError(BigcodeReleaseError):
    """A release cannot be planned or pushed: missing artifacts, cards not ready, no token, no rights."""


class GenerationRequestError(ServingError):
    """A generation request the model cannot serve (too long, nothing to generate): answered with
    HTTP 422 as TGI does."""


class ChatTemplateError(ServingError):
    """A chat request reached a model whose tokenizer has no chat template (TGI answers 422 `template_error`)."""


class ServerOverloadedError(ServingError):
    """More requests at once than the server admits: answered with HTTP 429 as TGI does."""


class DataIndexError(BigcodeReleaseError):
    """A data index cannot be built or queried: no index, an empty or unusable query or text."""


class MissingEvidence(BigcodeReleaseError):
    """An input the transparency report measures from is absent; the message says which and what
    produces it. `produced` is False when the whole stage has not run (the indicator is "not
    produced"), True when the stage ran but a file or field it writes is gone ("missing")."""

    def __init__(self, message: str, produced: bool = True):
        super().__init__(message)
        self.produced = produced


class ReleaseRunError(BigcodeReleaseError):
    """A stage of the one-command release failed; the message names it."""


class InvalidArgumentError(BigcodeReleaseError):
    """A command-line argument is unusable (a missing file, an unknown name, a value out of range);
    the message names the argument and what is wrong."""
