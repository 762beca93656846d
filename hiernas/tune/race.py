"""The final choice of a search: its top paths race as stand-alone trainings under Ray Tune's ASHA.

One iteration's ranks are noisy, so the path that gets the final training is not simply the searcher's
best: ``searcher.best(n)`` (the top paths over all iterations) are each trained from scratch
(``standalone_trainable``, the search's trial config, one seed for all) under ``ASHAScheduler``
(successive halving on ``val_acc``, ``time_attr="epoch"``, ``max_t`` = the race's epochs). A path whose
validation accuracy at a rung falls below the better half of the paths already there stops early.

The race runs one trial at a time: ASHA's decision at a rung depends on which paths reached it first,
so with concurrent trials the winner would depend on timing; one at a time, a seed gives one winner.

The winner is the path that got furthest, and among those the best ``val_acc`` at that epoch (ties: the
better-ranked path). ``race_winner`` is that rule on recorded curves; ``run_race`` runs the race.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ray import tune
from ray.tune.schedulers import ASHAScheduler

from hiernas.errors import TrialError
from hiernas.fade.config import TrialConfig
from hiernas.fade.standalone import standalone_config
from hiernas.tune.runtime import ProgressBar, completed, first_error_line, make_tuner
from hiernas.tune.trainables import standalone_trainable
from searchers import PathRecord

EXPERIMENT = "race"
Curve = Sequence[tuple[int, float]]  # (epoch, val_acc) per reported epoch


@dataclass(frozen=True)
class RaceSchedule:
    """ASHA's settings for a race of ``epochs`` epochs: rungs at ``grace * factor**k`` below ``epochs``."""

    epochs: int
    grace: int
    factor: int = 2

    @classmethod
    def for_epochs(cls, epochs: int) -> RaceSchedule:
        """A third of the epochs before the first cut (one epoch of a stand-alone path says little)."""
        if epochs < 1:
            raise ValueError(f"race epochs must be >= 1, got {epochs}")
        return cls(epochs=epochs, grace=max(1, epochs // 3))

    def rungs(self) -> list[int]:
        """The epochs at which ASHA compares paths, and the last epoch."""
        marks, rung = [], self.grace
        while rung < self.epochs:
            marks.append(rung)
            rung *= self.factor
        return [*marks, self.epochs]

    def scheduler(self) -> ASHAScheduler:
        """Tune's ASHA with these settings (metric and mode come from the TuneConfig)."""
        return ASHAScheduler(time_attr="epoch", max_t=self.epochs, grace_period=self.grace,
                             reduction_factor=self.factor)


def race_winner(curves: Sequence[Curve]) -> int:
    """Index of the winning path: furthest epoch reached, then best ``val_acc`` there, then the earlier path.

    Raises ValueError when no path reported an epoch.
    """
    reached = [(max(curve)[0], dict(curve)[max(curve)[0]], -k) for k, curve in enumerate(curves) if curve]
    if not reached:
        raise ValueError("no path of the race reported an epoch")
    return -max(reached)[2]


def race_record(paths: Sequence[PathRecord], curves: Sequence[Curve], schedule: RaceSchedule) -> dict[str, Any]:
    """best.json's ``race``: per path its cells, its searcher score, the epochs it trained and its
    ``val_acc`` at each rung it reached; the schedule; the winner's index."""
    entries = []
    for path, curve in zip(paths, curves, strict=True):
        by_epoch = dict(curve)
        entries.append({
            "iteration": path.iteration,
            "indices": list(path.indices),
            "cells": list(path.cells),
            "score": path.score,
            "epochs": max(by_epoch, default=0),
            "rungs": {str(rung): by_epoch[rung] for rung in schedule.rungs() if rung in by_epoch},
        })
    return {
        "scheduler": {"name": "ASHAScheduler", "time_attr": "epoch", "metric": "val_acc",
                      "max_t": schedule.epochs, "grace_period": schedule.grace, "reduction_factor": schedule.factor},
        "paths": entries,
        "winner": race_winner(curves),
    }


def distinct_paths(paths: Sequence[PathRecord]) -> list[PathRecord]:
    """``paths`` without repeats of the same cells (several iterations may rank the same path best)."""
    seen: list[tuple[Any, ...]] = []
    kept = []
    for path in paths:
        if path.cells not in seen:
            seen.append(path.cells)
            kept.append(path)
    return kept


def run_race(
    base: TrialConfig,
    paths: Sequence[PathRecord],
    schedule: RaceSchedule,
    storage: str,
    *,
    cpus_per_trial: float = 1,
    gpus_per_trial: float = 0,
    max_failures: int = 2,
    resume: bool = False,
) -> dict[str, Any]:
    """Race ``paths`` (best first) and return ``race_record``; ``TrialError`` if any path's training failed.

    With ``resume``, a race of the same storage cut off by a killed driver is continued.
    """
    template = standalone_config(base, list(paths[0].cells), schedule.epochs).to_dict()
    cells = [standalone_config(base, list(p.cells), schedule.epochs).to_dict()["cells"] for p in paths]
    tuner = make_tuner(
        standalone_trainable,
        name=EXPERIMENT,
        storage_path=storage,
        param_space=template | {"cells": tune.grid_search(cells)},
        cpus_per_trial=cpus_per_trial,
        gpus_per_trial=gpus_per_trial,
        max_failures=max_failures,
        callbacks=[ProgressBar(len(paths), EXPERIMENT, "val_acc")],
        restore=resume,
        snapshot_each_checkpoint=True,
        scheduler=schedule.scheduler(),
        metric="val_acc",
        mode="max",
        max_concurrent_trials=1,
    )
    keys = [json.dumps(c) for c in cells]  # tuples and lists alike, as Tune may hand either back
    curves: list[Curve] = [[] for _ in paths]
    grid = completed(tuner.fit(), "the race", len(paths))
    for result in (grid[k] for k in range(len(grid))):
        if result.error is not None:
            raise TrialError(f"a path of the race failed: {first_error_line(result.error)}")
        frame = result.metrics_dataframe
        if frame is None:
            raise TrialError("a path of the race reported no epoch")
        curve = [(int(e), float(v)) for e, v in zip(frame["epoch"], frame["val_acc"], strict=True)]
        curves[keys.index(json.dumps((result.config or {})["cells"]))] = curve
    return race_record(paths, curves, schedule)
