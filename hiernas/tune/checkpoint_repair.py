"""Restored trials whose recorded checkpoint is gone from the storage resume from the newest one that is there.

With ``num_to_keep=1`` a trial deletes its previous checkpoint as soon as it writes the next, and Tune snapshots
the experiment at that moment, but it uploads the snapshot in the background and skips an upload while one is
running. A driver killed in that window leaves a trial table that names a checkpoint the storage no longer
holds, and Tune's ``Trainable.restore`` then fails the trial ("does not exist on storage anymore") on every
retry. ``CheckpointRepair`` (a Tune callback in every Tuner of ``hiernas.tune.runtime.make_tuner``) points
such a trial at the newest ``checkpoint_*`` in its storage directory before Tune restarts it, or at none
(a fresh start) when there is none. Tune's own ``Trial.set_storage`` rewrites the same record when an
experiment moves.
"""

from __future__ import annotations

import logging
import posixpath
from typing import Any

import pyarrow.fs as pafs
from ray import tune

logger = logging.getLogger(__name__)


def _exists(filesystem: pafs.FileSystem, path: str) -> bool:
    return filesystem.get_file_info(path).type != pafs.FileType.NotFound


def newest_stored_checkpoint(filesystem: pafs.FileSystem, trial_dir: str) -> str | None:
    """The path of the newest ``checkpoint_NNNNNN`` directory under ``trial_dir``, or None."""
    selector = pafs.FileSelector(trial_dir, allow_not_found=True)
    names = [
        info.path
        for info in filesystem.get_file_info(selector)
        if info.type == pafs.FileType.Directory and posixpath.basename(info.path).startswith("checkpoint_")
    ]
    return max(names, key=posixpath.basename) if names else None


def repair_checkpoint(trial: Any) -> str | None:
    """Point ``trial``'s latest checkpoint at one that exists; returns what changed (None: nothing)."""
    manager = trial.run_metadata.checkpoint_manager
    latest = manager.latest_checkpoint_result
    if latest is None or _exists(latest.checkpoint.filesystem, latest.checkpoint.path):
        return None
    missing = latest.checkpoint.path
    newest = newest_stored_checkpoint(trial.storage.storage_filesystem, trial.storage.trial_fs_path)
    if newest is None:
        manager._latest_checkpoint_result = None  # noqa: SLF001 - no checkpoint left: the trial starts afresh
        trial.invalidate_json_state()
        return f"{missing} -> none (fresh start)"
    latest.checkpoint = tune.Checkpoint(path=newest, filesystem=trial.storage.storage_filesystem)
    trial.invalidate_json_state()
    return f"{missing} -> {newest}"


class FirstStepCallback(tune.Callback):
    """A Tune callback that acts once per driver, before Tune starts any trial (also after a restore: the flag
    is left out of the pickled state)."""

    _done = False  # a callback pickled by an older version lacks the attribute

    def __init__(self) -> None:
        self._done = False

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_done": False}

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if not self._done:
            self._done = True
            self.on_first_step(trials)

    def on_first_step(self, trials: list[Any]) -> None:
        """What to do with the trial table (restored or empty) before any trial starts."""


class CheckpointRepair(FirstStepCallback):
    """Repairs the restored trials' checkpoint records before Tune restarts them."""

    def on_first_step(self, trials: list[Any]) -> None:
        for trial in trials:
            changed = repair_checkpoint(trial)
            if changed:
                logger.warning("trial %s: its recorded checkpoint is gone from the storage: %s",
                               trial.trial_id, changed)
