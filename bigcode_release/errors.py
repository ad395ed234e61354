"""Every error the toolkit raises on purpose, in one place.

Each class names a kind of failure a caller may want to catch; messages say what was wrong
and what to do next.
"""


class BigcodeReleaseError(Exception):
    """Base class of every error raised on purpose by bigcode-release."""


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


class RegistryError(BigcodeReleaseError):
    """The opt-out registry cannot do what was asked (unknown request, a decision out of order)."""
