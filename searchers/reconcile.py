"""Bring a restored searcher in line with the trial table Tune restored.

Tune snapshots its trial table (``experiment_state-*.json``) and the searcher (``searcher-state-*.pkl``) into
a staging directory together, but uploads that directory to the storage in the background, file by file,
and skips an upload while the previous one runs. A driver killed during an upload (measured: a search on a
two-node cluster with S3 storage, killed the moment a trial finished) can leave a table and a searcher
state from different moments. Resuming such a pair hung: the searcher waited for a trial the table did
not have (or had as finished, so Tune never ran it again) and handed out nothing else.

``reconcile`` settles every slot of the current batch against the table, before Tune asks for trials:

- a live slot whose trial the table holds as finished takes that trial's final result (or its failure; one
  terminated without a final result is handed out again);
- a live slot whose trial the table lacks is handed out again (its trial never ran, as far as Tune knows);
- a pending slot adopts a trial of the table that the searcher never issued but whose config is the
  slot's (the table is newer than the searcher), so that trial is not trained twice.

Settling a batch may finish the iteration and start the next, so it repeats until nothing changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from searchers.state import LIVE, PENDING, Slot

if TYPE_CHECKING:
    from searchers.base import BatchSearcher

__all__ = ["KnownTrial", "reconcile"]

FINISHED = ("TERMINATED", "ERROR")
UNFINISHED = ("PENDING", "RUNNING", "PAUSED")


@dataclass(frozen=True)
class KnownTrial:
    """One trial of Tune's table: id, status (Tune's names), last result (or None) and config."""

    trial_id: str
    status: str
    result: Mapping[str, Any] | None
    config: Mapping[str, Any]


def _same_json(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _matches(slot: Slot, trial: KnownTrial) -> bool:
    """Whether ``trial``'s config carries everything the slot handed out (cells, seed, ...)."""
    return all(key in trial.config and _same_json(trial.config[key], value) for key, value in slot.config.items())


def reconcile(searcher: BatchSearcher, table: Sequence[KnownTrial]) -> dict[str, int]:
    """Settle ``searcher``'s current batch against Tune's restored ``table``; returns what was done, by kind."""
    by_id = {trial.trial_id: trial for trial in table}
    done = {"completed": 0, "failed": 0, "adopted": 0, "reissued": 0}
    while not searcher.finished and _settle_one(searcher, by_id, done):
        pass
    return done


def _settle_one(searcher: BatchSearcher, by_id: Mapping[str, KnownTrial], done: dict[str, int]) -> bool:
    """Settle one slot; True if something changed (the batch may have moved on)."""
    known = searcher._trials
    # trials the searcher never issued that can fill a slot: unfinished ones, or finished with a final result
    unknown = [t for t in by_id.values() if t.trial_id not in known and
               (t.status in UNFINISHED or (t.status == "TERMINATED" and (t.result or {}).get(searcher.FINAL_KEY)))]
    if searcher._proposal is None:
        if not unknown:
            return False
        searcher._start_iteration()  # what suggest() would do next; the table already holds its trials
    for index, slot in enumerate(searcher._batch):
        if slot.status == LIVE:
            trial = by_id.get(slot.trial_ids[-1])
            if trial is None:
                known.pop(slot.trial_ids.pop(), None)
                slot.status = PENDING
                done["reissued"] += 1
                return True
            if trial.status in FINISHED:
                _complete(searcher, trial, slot, done)
                return True
        elif slot.status == PENDING:
            match = next((t for t in unknown if _matches(slot, t)), None)
            if match is not None:
                slot.status = LIVE
                slot.trial_ids.append(match.trial_id)
                known[match.trial_id] = [searcher.iteration, index]
                done["adopted"] += 1
                return True
    return False


def _complete(searcher: BatchSearcher, trial: KnownTrial, slot: Slot, done: dict[str, int]) -> None:
    """Give the searcher what Tune gave it for a finished trial: its final result, or its failure. A trial the
    table holds as terminated without its final result is handed out again (same config and seed): its
    outcome is unknown, and a recorded failure would differ from an uninterrupted run."""
    result = dict(trial.result or {})
    if trial.status == "TERMINATED" and result.get(searcher.FINAL_KEY):
        searcher.on_trial_result(trial.trial_id, result)
        done["completed"] += 1
    elif trial.status == "TERMINATED":
        searcher._trials.pop(slot.trial_ids.pop(), None)
        slot.status = PENDING
        done["reissued"] += 1
    else:
        searcher.on_trial_complete(trial.trial_id, error=True)
        done["failed"] += 1
