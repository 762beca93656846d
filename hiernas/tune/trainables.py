"""Ray Tune function trainables: each runs one trial from its config dict alone.

``hyper_trainable`` trains a FaDE hyper-architecture (``hiernas.fade.trial``); ``standalone_trainable``
trains one discrete path from scratch (``hiernas.fade.standalone``); ``darts_trainable`` runs a cell-level
DARTS, PC-DARTS, GDAS or DARTS-PD search (``hiernas.darts.search``) and ``eval_trainable`` retrains a
genotype (``hiernas.darts.retrain``). Each reports every epoch, saves a checkpoint with every report,
resumes from ``tune.get_checkpoint()``, and uses exactly the CPUs/GPUs the trial got. Each wraps a
function without Ray that tests and other drivers can call directly. Example::

    from ray import tune
    from hiernas.tune.trainables import hyper_trainable
    tuner = tune.Tuner(hyper_trainable, param_space=trial_config.to_dict() | {"seed": tune.randint(0, 9)})
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import torch
from ray import tune

from hiernas.fade.standalone import run_standalone
from hiernas.fade.trial import run_hyper_trial

_STATE_FILE = "state.pt"


def trial_device() -> torch.device:
    """CUDA when the trial was given a GPU and one is visible, else the CPU; threads = the trial's CPUs."""
    resources: dict[str, float] = {}
    try:
        resources = dict(tune.get_context().get_trial_resources().required_resources)
    except (AttributeError, RuntimeError):
        resources = {}
    cpus = int(resources.get("CPU", 0)) or 1
    torch.set_num_threads(max(1, cpus))
    if resources.get("GPU", 0) > 0 and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def _tune_report(metrics: dict[str, Any], state: dict[str, Any] | None) -> None:
    """``tune.report`` with the state saved as a checkpoint directory (none when ``state`` is None)."""
    if state is None:
        tune.report(metrics)
        return
    with tempfile.TemporaryDirectory() as directory:
        torch.save(state, os.path.join(directory, _STATE_FILE))
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))


def _restored_state() -> dict[str, Any] | None:
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as directory:
        return torch.load(os.path.join(directory, _STATE_FILE), map_location="cpu", weights_only=False)


def _run(fn: Callable[..., Any], config: dict[str, Any]) -> None:
    fn(config, _tune_report, resume=_restored_state(), device=trial_device())


def hyper_trainable(config: dict[str, Any]) -> None:
    """Tune trainable: bilevel training of the hyper-architecture in ``config`` (a ``TrialConfig`` dict)."""
    _run(run_hyper_trial, config)


def standalone_trainable(config: dict[str, Any]) -> None:
    """Tune trainable: one discrete path (``config["path"]``: a cell per row) trained from scratch."""
    _run(run_standalone, config)


def darts_trainable(config: dict[str, Any]) -> None:
    """Tune trainable: a cell-level DARTS-family search (``hiernas.darts.search.DartsConfig`` dict)."""
    from hiernas.darts.search import run_darts_search  # imported here: a FaDE trial actor starts faster

    _run(run_darts_search, config)


def eval_trainable(config: dict[str, Any]) -> None:
    """Tune trainable: the evaluation network of a genotype trained from scratch (``EvalConfig`` dict)."""
    from hiernas.darts.retrain import run_final_training

    _run(run_final_training, config)
