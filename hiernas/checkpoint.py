"""The checkpoint convention of every trainer (hyper-architecture, cell-level search, genotype training).

A checkpoint is a plain dict: ``epoch`` (epochs done), ``last_metrics`` (the last report) and named parts
(state dicts, RNG states). ``snapshot`` deep-copies it, because ``state_dict()`` tensors are live views
that the next step would overwrite; ``resume_from`` loads the parts back, and a trial restored from its
final checkpoint reports its result again (after a driver crash Tune may have lost it, RAY_NOTES.md).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

State = dict[str, Any]
Report = Callable[[dict[str, Any], State | None], None]
Loaders = Mapping[str, Callable[[Any], Any]]  # part name -> the function that loads it back


def snapshot(epoch: int, metrics: Mapping[str, Any], parts: Mapping[str, Any]) -> State:
    """A checkpoint dict of ``parts`` after ``epoch`` epochs, deep-copied."""
    return copy.deepcopy({"epoch": epoch, "last_metrics": dict(metrics), **parts})


def resume_from(
    resume: State | None, loaders: Loaders, report: Report, epochs: int
) -> tuple[int, dict[str, Any], bool]:
    """Load each part of ``resume`` with its loader; returns (epochs done, last metrics, finished).

    Without a checkpoint: ``(0, {}, False)``. From a final checkpoint (``last_metrics["final"]``) that
    covers the ``epochs`` the config asks for, its metrics are reported again, without a new checkpoint,
    and ``finished`` is True; a final checkpoint of a shorter run is continued instead.
    """
    if resume is None:
        return 0, {}, False
    for key, load in loaders.items():
        load(resume[key])
    done, metrics = int(resume["epoch"]), dict(resume["last_metrics"])
    if metrics.get("final") and done >= epochs:
        report(metrics, None)
        return done, metrics, True
    return done, metrics, False
