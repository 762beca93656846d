"""Ray session and experiment plumbing: start or join Ray, check that a trial fits, build every Tuner of
the project (``make_tuner``), run a grid of trials with a progress bar, and turn failed trials into one
readable error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ray
from ray import tune
from tqdm import tqdm

from hiernas.errors import Interrupted, ResourceError, TrialError
from hiernas.tune.checkpoint_repair import CheckpointRepair
from hiernas.tune.storage import is_local, join

logger = logging.getLogger(__name__)


def short_trial_dirname(trial: Any) -> str:
    """``trainable_trialid``: Tune's default names embed the config (whole cell lists) and grow too long."""
    return f"{trial.trainable_name}_{trial.trial_id}"


def init_ray(
    address: str | None = None,
    num_cpus: int | None = None,
    dashboard: bool = True,
    quiet: bool = True,
) -> str | None:
    """Start a fresh local Ray (``address`` empty) or join a cluster (``"auto"`` or ``host:port``).

    An empty address always means a new local Ray (``address="local"``): never the cluster that a
    ``ray start`` left in ``/tmp/ray/ray_current_cluster`` or ``RAY_ADDRESS`` names; joining is explicit.
    Returns the dashboard URL, or None without a dashboard. The dashboard binds to loopback only, and
    Ray's token authentication stays as the cluster has it (Ray 2.60 turns it on where a token exists).
    """
    # our progress bars and per-iteration lines replace Tune's console reporter, which prints an
    # experiment box and a TensorBoard hint even at verbose=0; RAY_AIR_NEW_OUTPUT=1 brings it back
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    # a failed trial's traceback stays in its trial directory (error.txt); a failed run names it in one line
    os.environ.setdefault("TUNE_PRINT_ALL_TRIAL_ERRORS", "0")
    if ray.is_initialized():
        return None
    kwargs: dict[str, Any] = {"log_to_driver": not quiet, "configure_logging": True, "logging_level": logging.WARNING}
    if address:
        context = ray.init(address=address, **kwargs)
    else:
        context = ray.init(address="local", num_cpus=num_cpus, include_dashboard=dashboard,
                           dashboard_host="127.0.0.1", **kwargs)
    url = getattr(context, "dashboard_url", None)
    if url and not str(url).startswith("http"):
        url = f"http://{url}"
    return url or None


def check_resources(cpus_per_trial: float, gpus_per_trial: float) -> None:
    """Fail early, with one line, when no node of the running Ray can host one trial."""
    if cpus_per_trial <= 0 or gpus_per_trial < 0:
        raise ResourceError(f"a trial needs > 0 CPUs and >= 0 GPUs, got {cpus_per_trial:g} and {gpus_per_trial:g}")
    total = ray.cluster_resources()
    for kind, wanted in (("GPU", gpus_per_trial), ("CPU", cpus_per_trial)):
        if wanted > total.get(kind, 0):
            raise ResourceError(
                f"a trial asks for {wanted:g} {kind}s but the cluster has {total.get(kind, 0):g}"
            )


class ProgressBar(tune.Callback):
    """A tqdm bar over finished trials, with the latest value of ``metric`` as postfix.

    Tune pickles its callbacks into the experiment (``tuner.pkl``) and unpickles them on
    ``Tuner.restore``; a live tqdm object does not survive that, so the bar is created on first use and
    left out of the pickled state. A restored run starts the bar at the trials that had already finished.
    """

    def __init__(self, total: int | None, description: str, metric: str | None = None) -> None:
        self.total = total
        self.description = description
        self.metric = metric
        self._bar: tqdm | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_bar": None}

    def _ensure_bar(self, trials: Sequence[Any]) -> tqdm:
        if self._bar is None:
            done = sum(1 for t in trials if t.status in ("TERMINATED", "ERROR"))
            self._bar = tqdm(total=self.total, initial=done, desc=self.description, unit="trial",
                             dynamic_ncols=True, leave=True)
        return self._bar

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any], **info: Any
    ) -> None:
        bar = self._ensure_bar(trials)
        if self.metric and self.metric in result:
            bar.set_postfix({self.metric: f"{result[self.metric]:.3f}", "epoch": result.get("epoch", "")})

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._ensure_bar([t for t in trials if t is not trial]).update(1)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._ensure_bar([t for t in trials if t is not trial]).update(1)

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@dataclass(frozen=True)
class TrialOutcome:
    """The config of a finished trial and its last reported metrics."""

    config: dict[str, Any]
    metrics: dict[str, Any]


def first_error_line(error: BaseException | None) -> str:
    """The last non-empty line of a trial error (the exception and its message; tracebacks stay in the logs)."""
    text = str(error or "unknown error").strip().splitlines()
    for line in reversed(text):
        if line.strip():
            return line.strip()
    return "unknown error"


def make_tuner(
    trainable: Callable[[dict[str, Any]], None],
    *,
    name: str,
    storage_path: str,
    param_space: Mapping[str, Any] | None = None,
    cpus_per_trial: float = 1,
    gpus_per_trial: float = 0,
    max_failures: int = 2,
    callbacks: Sequence[tune.Callback] = (),
    restore: bool = False,
    resume_errored: bool = True,
    snapshot_each_checkpoint: bool = False,
    **tune_options: Any,
) -> tune.Tuner:
    """The one Tuner builder: ``trainable`` with its resources, short trial names, reused actors, quiet output.

    ``storage_path`` is a local directory or a URI (``hiernas.tune.storage``). With ``restore`` and an
    experiment ``name`` in it, that experiment is restored instead (unfinished trials resume from their
    checkpoints; errored ones too when ``resume_errored``). ``snapshot_each_checkpoint`` keeps only each
    trial's newest checkpoint and makes Tune snapshot the experiment (trial table and searcher state) at
    every trial checkpoint instead of about every 10 s (Tune forces a snapshot every ``num_to_keep``
    checkpoints of a trial), so that a driver killed at any moment resumes from what had finished; a
    restored trial whose recorded checkpoint is gone resumes from its newest stored one (``CheckpointRepair``).
    ``tune_options`` go to ``tune.TuneConfig`` (search algorithm, scheduler, metric, concurrency, ...).
    """
    resources = {"cpu": cpus_per_trial, "gpu": gpus_per_trial}
    wrapped = tune.with_resources(trainable, resources)
    if is_local(storage_path):
        storage_path = os.path.abspath(storage_path)
    experiment = join(storage_path, name)
    # frequent snapshots are what we ask for: no warning about them
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    if restore and tune.Tuner.can_restore(experiment):
        return tune.Tuner.restore(experiment, wrapped, resume_unfinished=True, resume_errored=resume_errored)
    return tune.Tuner(
        wrapped,
        param_space=dict(param_space or {}),
        tune_config=tune.TuneConfig(
            reuse_actors=True, trial_dirname_creator=short_trial_dirname, **tune_options
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=storage_path,
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1 if snapshot_each_checkpoint else None),
            callbacks=[*callbacks, CheckpointRepair()],
        ),
    )


def run_grid(
    trainable: Callable[[dict[str, Any]], None],
    param_space: Mapping[str, Any],
    *,
    name: str,
    storage_path: str,
    num_trials: int,
    cpus_per_trial: float = 1,
    gpus_per_trial: float = 0,
    max_concurrent: int | None = None,
    max_failures: int = 2,
    metric: str = "val_acc",
    progress: bool = True,
    resume: bool = False,
) -> list[TrialOutcome]:
    """Run the trials of ``param_space`` (grid searches expand) and return their last results.

    With ``resume``, an experiment of the same ``name`` in ``storage_path`` (e.g. cut off by a killed
    driver) is continued instead: finished trials are kept, unfinished ones resume from their checkpoints.
    Raises ``TrialError`` naming the first failed trial's error when any trial failed for good.
    """
    tuner = make_tuner(
        trainable,
        name=name,
        storage_path=storage_path,
        param_space=param_space,
        cpus_per_trial=cpus_per_trial,
        gpus_per_trial=gpus_per_trial,
        max_failures=max_failures,
        callbacks=[ProgressBar(num_trials, name, metric)] if progress else [],
        restore=resume,
        max_concurrent_trials=max_concurrent,
    )
    return _outcomes(completed(tuner.fit(), name, num_trials), name)


def completed(grid: Any, name: str, expected: int) -> Any:
    """``grid`` (a ``ResultGrid``) when all ``expected`` trials ended, finished or failed; ``Interrupted`` when
    Tune was stopped on a signal (Ctrl-C): it then saves its state and returns as if done, with trials
    unfinished or, since grid searches create their trials as slots free up, never created."""
    unfinished = expected - grid.num_terminated - grid.num_errors
    if unfinished > 0:
        raise Interrupted(f"{name} was interrupted with {unfinished} of {expected} trials unfinished; resume it "
                          f"to finish")
    return grid


def _outcomes(grid: Any, name: str) -> list[TrialOutcome]:
    """The trials' configs and last metrics; ``TrialError`` with the first failed trial's error."""
    outcomes: list[TrialOutcome] = []
    for result in grid:
        if result.error is not None:
            raise TrialError(f"a trial of {name} failed: {first_error_line(result.error)}")
        outcomes.append(TrialOutcome(dict(result.config or {}), dict(result.metrics or {})))
    return outcomes
