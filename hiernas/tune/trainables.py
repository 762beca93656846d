"""Ray Tune function trainables: each runs one trial from its config dict alone.

``hyper_trainable`` trains a FaDE hyper-architecture (``hiernas.fade.trial``); ``standalone_trainable``
trains one discrete path from scratch (``hiernas.fade.standalone``); ``darts_trainable`` runs a cell-level
DARTS, PC-DARTS, GDAS or DARTS-PD search (``hiernas.darts.search``) and ``eval_trainable`` retrains a
genotype (``hiernas.darts.retrain``). Each reports every epoch, saves a checkpoint with every report,
resumes from the trial's newest checkpoint in the storage (``tune.get_checkpoint()`` or a newer one
that Tune's last snapshot missed), and uses exactly the CPUs/GPUs the trial got. Each wraps a
function without Ray that tests and other drivers can call directly. Example::

    from ray import tune
    from hiernas.tune.trainables import hyper_trainable
    tuner = tune.Tuner(hyper_trainable, param_space=trial_config.to_dict() | {"seed": tune.randint(0, 9)})
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable
from typing import Any

import pyarrow.fs as pafs
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


def _load_state(checkpoint: tune.Checkpoint) -> dict[str, Any]:
    with checkpoint.as_directory() as directory:
        return torch.load(os.path.join(directory, _STATE_FILE), map_location="cpu", weights_only=False)


def _checkpoints_newest_first() -> list[tune.Checkpoint]:
    """The trial's checkpoints in its storage directory, newest first, then the one Tune handed over.

    After a driver was killed, Tune restores the trial from its last experiment snapshot, which may name
    an older checkpoint than the trial wrote before the kill, or none (a finished trial then reports its
    final result again instead of training anew), or one that ``num_to_keep`` deleted since.
    """
    given = tune.get_checkpoint()
    storage = tune.get_context().get_storage()  # Ray's developer API: the trial's directory in the storage
    fs, trial_dir = storage.storage_filesystem, storage.trial_fs_path
    try:
        infos = fs.get_file_info(pafs.FileSelector(trial_dir, allow_not_found=True))
    except OSError:
        infos = []
    names = sorted(
        (os.path.basename(info.path) for info in infos if info.type == pafs.FileType.Directory),
        reverse=True,
    )
    found = [tune.Checkpoint(f"{trial_dir}/{name}", filesystem=fs) for name in names if name.startswith("checkpoint_")]
    return found + ([given] if given is not None else [])


def _restored_state() -> dict[str, Any] | None:
    """The newest loadable checkpoint of this trial, or None for a fresh start."""
    errors: list[str] = []
    for candidate in _checkpoints_newest_first():
        try:
            return _load_state(candidate)
        except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as error:  # missing, or cut short
            errors.append(f"{candidate.path}: {error}")
    if errors:
        raise RuntimeError(f"no loadable checkpoint: {'; '.join(errors)}")
    return None


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
