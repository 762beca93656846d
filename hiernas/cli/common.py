"""Command-line conventions of every command: bad input is one line on stderr and exit code 2, ``--help``
shows every default, and the flags that every Ray command shares (data, resources, cluster, results).

Nothing here imports Ray or torch at import time: ``--help`` and bad flags answer at once.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from hiernas.config import AMP_MODES, DATASETS

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1  # the input was fine, the trials failed (hiernas.errors.TrialError)
STORAGE_ENV = "HIERNAS_STORAGE"  # the default of --storage (cluster.yaml sets it on every node)
# what counts as the user's mistake rather than a bug: reported in one line, never as a traceback
# (hiernas.errors' DataError and ResourceError are ValueErrors)
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, PermissionError)


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default, unless its help already says what the default is (``(default: ...``)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        return text if "(default:" in text else super()._get_help_string(action)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line (``prog: error: ...``) and exit code 2; ``--help`` shows defaults."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    """Print ``error: message`` (first line only) to stderr and exit with ``code`` (2: bad input)."""
    first = str(message).strip().splitlines()[0] if str(message).strip() else "invalid input"
    print(f"error: {first}", file=sys.stderr)
    raise SystemExit(code)


def run_main(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None,
             extra_errors: tuple[type[BaseException], ...] = ()) -> None:
    """Run ``main`` and turn user errors into one line and exit code 2, trials that failed for good into one
    line and exit code 1; Ctrl-C exits 130."""
    from hiernas.errors import TrialError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = main(argv)
    except USER_ERRORS + extra_errors as error:
        fail(str(error))
    except TrialError as error:
        fail(str(error), EXIT_FAILED)
    except KeyboardInterrupt as error:  # hiernas.errors.Interrupted says what was cut short
        print(f"interrupted: {error}" if str(error) else "interrupted", file=sys.stderr)
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
    """argparse type: a finite float > 0."""
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite float >= 0."""
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def add_head_norm_flag(parser: argparse.ArgumentParser) -> None:
    """--head-norm (``ModelConfig.head_norm``), one text for every command that trains hyper-architectures."""
    parser.add_argument("--head-norm", action="store_true",
                        help="BatchNorm before the hyper-architecture's head, so the last row's alpha cannot scale "
                             "the logits (stand-alone trainings of paths run without it)")


def add_data_flags(parser: argparse.ArgumentParser, batch_size: int | None) -> None:
    """--dataset, --data-dir, --download and --batch-size (``None``: the method's own default)."""
    parser.add_argument("--dataset", default="digits", choices=DATASETS, help="data set")
    parser.add_argument("--data-dir", default=None, help="directory with the CIFAR-10 python batches")
    parser.add_argument("--download", action="store_true", help="fetch CIFAR-10 with torchvision if missing")
    parser.add_argument("--batch-size", type=positive_int, default=batch_size, help="samples per batch")


def add_ray_flags(parser: argparse.ArgumentParser, results: str, max_concurrent: int | None = None) -> None:
    """Resources per trial, concurrency, the cluster to run on, the dashboard and the results directory."""
    parser.add_argument("--cpus-per-trial", type=positive_float, default=1, help="CPUs each trial takes")
    parser.add_argument("--gpus-per-trial", type=non_negative_float, default=0,
                        help="GPUs each trial takes; fractions share a GPU (0.5: two trials per GPU)")
    parser.add_argument("--amp", default="off", choices=AMP_MODES,
                        help="mixed precision on CUDA (float32 on CPUs)")
    parser.add_argument("--max-concurrent", type=positive_int, default=max_concurrent,
                        help="trials at once (None: as many as fit)")
    parser.add_argument("--address", default="",
                        help="empty: always a new local Ray; 'auto' or host:port: join that cluster")
    parser.add_argument("--storage", default=os.environ.get(STORAGE_ENV) or None,
                        help="where Tune keeps experiments and checkpoints: a directory every node mounts, or "
                             "s3://bucket/prefix, gs://bucket/prefix (S3-compatible servers: "
                             "?endpoint_override=host:port&scheme=http); a cluster of several nodes needs one. "
                             f"Default: ${STORAGE_ENV}, else RESULTS/ray")
    parser.add_argument("--dashboard", action=argparse.BooleanOptionalAction, default=True,
                        help="start the Ray dashboard (local Ray only; bound to 127.0.0.1)")
    parser.add_argument("--results", default=results, help="output directory")


def start_ray(args: argparse.Namespace, storage: str | None = None) -> None:
    """Start or join Ray as the flags say, print the dashboard URL, refuse trials that cannot fit and storage
    that not every node running trials can reach (``storage``: the resolved one; None: from the flags).

    The library names values; here the refusal names the flags that asked for them.
    """
    from hiernas.errors import ResourceError, StorageError
    from hiernas.tune.runtime import check_resources, init_ray
    from hiernas.tune.storage import check_storage, resolve_storage

    if not args.address:  # a local Ray gets this machine's GPUs: refuse before spending seconds starting it
        _check_local_gpus(args.gpus_per_trial)
    url = init_ray(args.address or None, dashboard=args.dashboard)
    if url:
        print(f"Ray dashboard: {url}", file=sys.stderr)
    try:
        check_resources(args.cpus_per_trial, args.gpus_per_trial)
    except ResourceError as error:
        raise ResourceError(
            f"--cpus-per-trial {args.cpus_per_trial:g} --gpus-per-trial {args.gpus_per_trial:g}: {error}"
        ) from None
    try:
        check_storage(storage or resolve_storage(args.storage, args.results), args.cpus_per_trial,
                      args.gpus_per_trial)
    except StorageError as error:
        given = f"--storage {args.storage}" if args.storage else f"--storage (default: --results {args.results}/ray)"
        raise StorageError(f"{given}: {error}") from None


def _check_local_gpus(gpus_per_trial: float) -> None:
    """Refuse ``--gpus-per-trial`` above the GPUs torch sees here (what a new local Ray would get)."""
    from hiernas.errors import ResourceError

    if gpus_per_trial > 0:
        import torch

        available = torch.cuda.device_count()
        if gpus_per_trial > available:
            raise ResourceError(
                f"--gpus-per-trial {gpus_per_trial:g}: a trial asks for {gpus_per_trial:g} GPUs but this machine "
                f"has {available}"
            )


def int_list(text: str) -> tuple[int, ...]:
    """argparse type: comma-separated integers >= 1 (e.g. ``5,11,17``)."""
    return tuple(positive_int(part.strip()) for part in text.split(","))


def float_list(text: str) -> tuple[float, ...]:
    """argparse type: comma-separated numbers >= 0 (e.g. ``0.0,0.4,0.7``)."""
    return tuple(non_negative_float(part.strip()) for part in text.split(","))


class CommandMain(Protocol):
    """A command's ``main``: ``argv`` defaults to the process's own arguments."""

    def __call__(self, argv: Sequence[str] | None = None) -> None: ...


def command_main(
    build_parser: Callable[[], argparse.ArgumentParser], run: Callable[[argparse.Namespace], int]
) -> CommandMain:
    """``main(argv)`` of a command: parse with ``build_parser()``, call ``run``, user errors in one line."""

    def main(argv: Sequence[str] | None = None) -> None:
        run_main(lambda args: run(build_parser().parse_args(args)), argv)

    return main
