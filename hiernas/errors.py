"""The errors that mean "the input is wrong", not "the code is wrong": the command line reports them in
one line and exits with code 2 (``hiernas.cli.common``). Their messages name values, never flags."""

from __future__ import annotations


class DataError(ValueError):
    """A data set cannot be loaded or split; the message is one line: the problem and what was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.splitlines()))


class ResourceError(ValueError):
    """The cluster cannot give a trial what it asks for (e.g. GPUs on a CPU-only machine)."""
