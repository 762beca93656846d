"""Command-line conventions shared by the scripts: bad input is one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from hiernas.data import DataError

EXIT_BAD_INPUT = 2
# what counts as the user's mistake rather than a bug: reported in one line, never as a traceback
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, DataError, FileNotFoundError, PermissionError)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line (``prog: error: ...``) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def fail(message: str) -> None:
    """Print ``error: message`` (first line only) to stderr and exit with code 2."""
    first = str(message).strip().splitlines()[0] if str(message).strip() else "invalid input"
    print(f"error: {first}", file=sys.stderr)
    raise SystemExit(EXIT_BAD_INPUT)


def run_main(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None,
             extra_errors: tuple[type[BaseException], ...] = ()) -> None:
    """Run ``main`` and turn user errors into one line and exit code 2; Ctrl-C exits 130."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = main(argv)
    except USER_ERRORS + extra_errors as error:
        fail(str(error))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    raise SystemExit(code or 0)


class _TqdmHandler(logging.Handler):
    """Writes log lines through ``tqdm.write`` so they do not break a progress bar on the terminal."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        tqdm.write(self.format(record), file=sys.stderr)


def show_progress_log(name: str) -> None:
    """Print the INFO lines of logger ``name`` (e.g. a searcher's per-iteration progress) on stderr."""
    progress = logging.getLogger(name)
    if not any(isinstance(h, _TqdmHandler) for h in progress.handlers):
        handler = _TqdmHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        progress.addHandler(handler)
    progress.setLevel(logging.INFO)
    progress.propagate = False


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a float > 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value
