"""One exception family for everything a user can get wrong.

`SeqganMusicError` is the base; the CLI turns any of them into a one-line message and exit code 1.
Messages name the parameter or file, the value received and what is accepted.
"""

from __future__ import annotations


class SeqganMusicError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(SeqganMusicError):
    """A configuration value, preset or override is invalid."""


class DataError(SeqganMusicError):
    """A corpus, data file or download is missing, unreadable or unusable."""


class DataMissing(DataError):
    """A task's data is not present locally but can be downloaded (`seqgan-music data download`)."""

    def __init__(self, message: str, task: str) -> None:
        super().__init__(message)
        self.task = task


class CheckpointError(SeqganMusicError):
    """A checkpoint or run directory is missing, foreign or damaged."""


class FileError(SeqganMusicError, OSError):
    """A file or folder of ours cannot be read or written (disk full, permission denied, a
    directory where a file should be...). The message names the path and the reason; it is
    also an `OSError` (with the original `errno`), so callers that tolerate file-system failures
    (caches) keep doing so."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno  # type: ignore[misc]

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class TrainingError(SeqganMusicError):
    """Training cannot go on (for example a non-finite loss)."""


class TaskError(SeqganMusicError):
    """A task name is unknown or a task plug-in failed to load."""


class DataWarning(UserWarning):
    """Something in the data was skipped; the run goes on (the CLI prints it in one line)."""
