"""The errors that mean "the input is wrong", not "the code is wrong": the command line reports them in
one line and exits with code 2 (``hiernas.cli.common``). Their messages name values, never flags.
``TrialError`` is the one exception: trials that failed for good, reported in one line with exit code 1."""

from __future__ import annotations


class DataError(ValueError):
    """A data set cannot be loaded or split; the message is one line: the problem and what was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.splitlines()))


class ResourceError(ValueError):
    """The cluster cannot give a trial what it asks for (e.g. GPUs on a CPU-only machine)."""


class StorageError(ValueError):
    """Tune's storage cannot serve the cluster: a URI that cannot be parsed or reached, or a local path that
    a node running trials cannot see."""


class TrialError(RuntimeError):
    """Trials failed for good (every trial of a search, a final training): not the input's fault, so the
    command line exits with code 1; the message names the first trial's error in one line."""


class Interrupted(KeyboardInterrupt):
    """Ray Tune stopped on a signal (Ctrl-C: Tune saves its state and returns as if done) before the work was
    complete: nothing was written, and resuming finishes it. The command line exits with code 130."""
