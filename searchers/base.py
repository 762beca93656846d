"""Batch-synchronous Ray Tune searchers: the machinery shared by the FaDE, DARTS-PD and random searches.

Every iteration is one batch of ``repeats`` trials that train the same hyper-architecture (``depth`` rows
of ``window`` cells) with different seeds. ``suggest`` hands out the batch's configs one by one, then
returns ``None`` while the batch is out and ``Searcher.FINISHED`` after ``iterations`` batches. When the
last trial of a batch completes, the subclass turns the results into the next batch (``_finish``) and the
iteration is appended to ``history``.

Resuming: ``get_state``/``set_state`` and ``save``/``restore`` (atomic JSON) keep the whole state, the
random generator included. ``Tuner.restore(resume_unfinished=True)`` resumes the trials that were live
at Tune's snapshot under their own ids, and a restored searcher keeps waiting for them; Tune's trial table
and the searcher state can come from different moments, which ``reconcile`` settles (``searchers.reconcile``).
A caller that restores the searcher without Tune calls ``reissue_live_trials``: the live trials' configs
(same cells, same seeds) are handed out again. If both an old and a re-issued trial report, the first
fills the slot and the other is logged and ignored.
The state's pieces and its file format live in ``searchers.state``; checks and records in ``searchers.records``;
what every searcher shares (metric and mode, the seeded generator, the JSON state around the batch's progress,
save/restore) in ``searchers.stateful``.
"""

from __future__ import annotations

import abc
import copy
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from ray.tune.search.searcher import Searcher

from searchers.reconcile import KnownTrial, reconcile
from searchers.records import (
    RANK_SOURCES,
    PathRecord,
    Proposal,
    check_float,
    check_int,
    describe_record,
    finite_metric,
    log_rank_agreement,
    paths_from_history,
    to_json,
)
from searchers.state import (
    DONE,
    FAILED,
    LIVE,
    PENDING,
    STATE_FORMAT,
    Slot,
    check_settings,
    proposal_from_json,
    proposal_to_json,
)
from searchers.stateful import SearchOptions, StatefulSearcher
from spaces.base import CellSpace, FloatArray

if TYPE_CHECKING:
    from typing import Unpack  # Python 3.11+; only in annotations, so 3.10 never imports it

# the value checks, the JSON helper and the records live in searchers.records; re-exported for old imports
__all__ = ["BatchOptions", "BatchSearcher", "PathRecord", "Proposal", "check_float", "check_int", "to_json"]

logger = logging.getLogger(__name__)
# one INFO line per finished iteration; scripts show it, library users opt in through logging
progress_logger = logging.getLogger("searchers.progress")

SEED_RANGE = 2**31 - 1


class BatchOptions(SearchOptions, total=False):
    """The keyword options every BatchSearcher takes: ``SearchOptions`` and the repeats per iteration."""

    repeats: int  # trials per iteration, each with its own seed


class BatchSearcher(StatefulSearcher):
    """Base class: batches, their bookkeeping and its state; subclasses implement the search step.

    A subclass takes ``space, depth, window, iterations``, its own settings (listed in ``SETTINGS``, which
    a restored state must match) and ``**BatchOptions``. Example (any subclass; ``hyper_trainable``
    reports ``alpha`` and ``val_acc``)::

        searcher = RandomSearcher(DagSpace(6), depth=4, window=6, iterations=10, repeats=2)
        tune.Tuner(hyper_trainable, param_space={"model": {"depth": 4, "window": 6}},
                   tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1)).fit()
        print(searcher.best(3))
    """

    STATE_FORMAT = STATE_FORMAT
    SETTINGS: ClassVar[tuple[str, ...]] = ("depth", "window", "iterations", "repeats", "seed", "rank")
    RESULT_KEYS: ClassVar[tuple[str, ...]] = ("top_paths", "top_log_ranks")  # kept from each result
    MIN_WINDOW: ClassVar[int] = 1
    FINAL_KEY: ClassVar[str] = "final"  # a result with this key true is a trial's last (``on_trial_result``)

    def __init__(
        self,
        space: CellSpace[Any],
        depth: int,
        window: int,
        iterations: int,
        *,
        repeats: int = 1,
        **options: Unpack[SearchOptions],
    ) -> None:
        self.depth = check_int("depth", depth, 1)
        self.window = check_int("window", window, self.MIN_WINDOW)
        self.iterations = check_int("iterations", iterations, 1)
        self.repeats = check_int("repeats", repeats, 1)
        super().__init__(space, **options)
        if len(space) < self.window:
            raise ValueError(f"window={self.window} exceeds the {len(space)} cells of the space")
        self._iteration = 0
        self._batch: list[Slot] = []
        self._proposal: Proposal | None = None
        self._trials: dict[str, list[int]] = {}  # trial id -> [iteration, slot]
        self._completed: set[str] = set()
        self._final_reported: set[str] = set()  # completed by their final result, before Tune's completion
        self._max_live: int | None = None  # trials handed out and not yet finished (``set_max_concurrency``)
        self.rank = "alpha"  # which reported matrix ranks the cells (``set_rank_source``)
        self.history: list[dict[str, Any]] = []

    # ------------------------------------------------------------ subclass hooks

    @abc.abstractmethod
    def _propose(self) -> Proposal:
        """The next iteration's hyper-architecture (draws from ``self._rng`` only)."""

    @abc.abstractmethod
    def _finish(
        self, proposal: Proposal, results: list[dict[str, Any]], alpha: FloatArray | None
    ) -> dict[str, Any]:
        """Update the search from an iteration's successful results; returns the record's own fields.

        ``alpha`` is the architecture weights averaged over ``results`` (None when every repeat failed).
        """

    @abc.abstractmethod
    def _algorithm_state(self) -> dict[str, Any]:
        """JSON-able state of the search itself (anchors, population, archive, ...)."""

    @abc.abstractmethod
    def _set_algorithm_state(self, state: Mapping[str, Any]) -> None:
        """Inverse of ``_algorithm_state``."""

    # ------------------------------------------------------------ Tune protocol

    @property
    def iteration(self) -> int:
        """Number of completed iterations."""
        return self._iteration

    @property
    def finished(self) -> bool:
        """Whether all iterations are complete."""
        return self._iteration >= self.iterations

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """Limit the trials training at once (Tune's ConcurrencyLimiter then stands aside): a trial stops
        counting at its final result, so the next batch goes out while Tune can still re-use its actor."""
        self._max_live = check_int("max_concurrent", max_concurrent, 1)
        return True

    def set_rank_source(self, rank: str) -> None:
        """Rank cells by ``alpha`` (the architecture weights) or ``pathwise`` (path-wise validation accuracy
        with the shared weights, ``pathwise_alpha``: the trials must score paths, ``train.eval_paths > 0``)."""
        if rank not in RANK_SOURCES:
            raise ValueError(f"rank must be one of {list(RANK_SOURCES)}, got {rank!r}")
        self.rank = rank

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:  # type: ignore[override]
        """The next config of the current batch, ``None`` while the batch is out, ``FINISHED`` at the end."""
        # Ray's annotation (Optional[Dict]) omits the FINISHED sentinel, hence the ignore above.
        if self.finished:
            return Searcher.FINISHED
        if self._proposal is None:
            self._start_iteration()
        if self._max_live is not None and sum(s.status == LIVE for s in self._batch) >= self._max_live:
            return None
        for index, slot in enumerate(self._batch):
            if slot.status == PENDING:
                slot.status = LIVE
                slot.trial_ids.append(trial_id)
                self._trials[trial_id] = [self._iteration, index]
                return copy.deepcopy(slot.config)
        return None

    def on_trial_result(self, trial_id: str, result: dict[Any, Any]) -> None:
        """Take a trial's final result (``FINAL_KEY`` true) as its completion, before Tune completes it: the
        next batch then goes out while the trial's actor is alive (re-used) and before its final snapshot."""
        if result.get(self.FINAL_KEY) and trial_id not in self._completed:
            self.on_trial_complete(trial_id, result=result)
            self._final_reported.add(trial_id)

    def on_trial_complete(
        self, trial_id: str, result: dict[Any, Any] | None = None, error: bool = False
    ) -> None:
        """Record a trial's last result; a full batch triggers the search step."""
        if trial_id in self._final_reported:
            return  # taken at its final result already
        if trial_id in self._completed:
            logger.warning("duplicate completion of trial %s ignored", trial_id)
            return
        if trial_id not in self._trials:
            logger.warning("completion of unknown trial %s ignored", trial_id)
            return
        self._completed.add(trial_id)
        iteration, index = self._trials[trial_id]
        if iteration != self._iteration or not self._batch:
            logger.warning("late completion of trial %s (iteration %d) ignored", trial_id, iteration)
            return
        slot = self._batch[index]
        if slot.status in (DONE, FAILED):
            logger.warning("trial %s repeats slot %d of iteration %d, which already has a result; ignored",
                           trial_id, index, iteration)
            return
        extracted = None if error or result is None else self._extract(trial_id, result)
        if extracted is None:
            logger.warning("trial %s of iteration %d failed (error=%s); its alpha counts as missing",
                           trial_id, iteration, error)
            slot.status = FAILED
        else:
            slot.status, slot.result = DONE, extracted
        if all(s.status in (DONE, FAILED) for s in self._batch):
            self._finish_iteration()

    # ------------------------------------------------------------ state

    def _progress_state(self) -> dict[str, Any]:
        """The batch, its trials, the history and the subclass's ``_algorithm_state``."""
        return {
            "iteration": self._iteration,
            "proposal": proposal_to_json(self._proposal),
            "batch": [slot.to_json() for slot in self._batch],
            "trials": self._trials,
            "completed": sorted(self._completed),
            "final_reported": sorted(self._final_reported),
            "history": self.history,
            "algorithm": self._algorithm_state(),
        }

    def _check_settings(self, saved: Mapping[str, Any]) -> None:
        """The current settings must equal the saved ones they name (``searchers.state.check_settings``)."""
        # states saved before ranks had sources ranked by alpha
        check_settings({"rank": "alpha", **saved}, self._all_settings())

    def _set_progress_state(self, state: Mapping[str, Any]) -> None:
        """Inverse of ``_progress_state``; live trials stay live (Tune resumes them, see the module docstring)."""
        proposal = proposal_from_json(state["proposal"])
        batch = [Slot.from_json(s) for s in state["batch"]]
        self._iteration = int(state["iteration"])
        self._proposal = proposal
        self._batch = batch
        self._trials = {str(k): [int(v[0]), int(v[1])] for k, v in state["trials"].items()}
        self._completed = set(state["completed"])
        self._final_reported = set(state.get("final_reported", ()))
        self.history = list(state["history"])
        self._set_algorithm_state(state["algorithm"])

    def reconcile(self, table: Sequence[KnownTrial]) -> dict[str, int]:
        """Settle the current batch against the trial table Tune restored (``searchers.reconcile``)."""
        return reconcile(self, table)

    def reissue_live_trials(self) -> int:
        """Hand the configs of the current batch's live trials out again (their trials are lost).

        Needed only when the searcher is restored without Tune resuming those trials; returns how many.
        """
        live = [slot for slot in self._batch if slot.status == LIVE]
        for slot in live:
            slot.status = PENDING
        return len(live)

    # ------------------------------------------------------------ helpers

    def _start_iteration(self) -> None:
        proposal = self._propose()
        if len(proposal.cells) != self.depth or any(len(row) != self.window for row in proposal.cells):
            raise RuntimeError(f"{type(self).__name__} proposed a hyper-architecture of the wrong shape")
        seeds = [int(self._rng.integers(SEED_RANGE)) for _ in range(self.repeats)]
        self._proposal = proposal
        self._batch = [
            Slot(config=to_json({**proposal.extra_config, "cells": proposal.cells, "seed": seed}))
            for seed in seeds
        ]

    def _extract(self, trial_id: str, result: Mapping[str, Any]) -> dict[str, Any] | None:
        """The parts of a result the searcher keeps; None (counted as failed) without a valid rank matrix
        (``alpha``, or ``pathwise_alpha`` when ranking path-wise), which is kept as ``alpha``."""
        alpha = self.parse_alpha(result.get(RANK_SOURCES[self.rank]))
        if alpha is None:
            logger.warning("trial %s reported no valid %s of shape (%d, %d)", trial_id, RANK_SOURCES[self.rank],
                           self.depth, self.window)
            return None
        kept = {key: to_json(result[key]) for key in self.RESULT_KEYS if key in result}
        return {"alpha": alpha.tolist(), "metric": finite_metric(result.get(self.metric)), **kept}

    def parse_alpha(self, value: object) -> FloatArray | None:
        """``value`` as a finite non-negative ``(depth, window)`` array, or None."""
        try:
            alpha = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        if alpha.shape != (self.depth, self.window) or not np.all(np.isfinite(alpha)) or np.any(alpha < 0):
            return None
        return alpha

    def _finish_iteration(self) -> None:
        assert self._proposal is not None
        results = [s.result for s in self._batch if s.status == DONE and s.result is not None]
        alpha = np.mean([r["alpha"] for r in results], axis=0) if results else None
        metrics = [r["metric"] for r in results if r["metric"] is not None]
        record: dict[str, Any] = {
            "iteration": self._iteration,
            "status": "ok" if results else "failed",
            "seeds": [s.config["seed"] for s in self._batch],
            "trial_ids": [s.trial_ids for s in self._batch],
            "repeats_ok": len(results),
            "metric": float(np.mean(metrics)) if metrics else None,
            "cells": self._proposal.cells,
            "alpha": None if alpha is None else alpha.tolist(),
            # agreement of the repeats' rankings of every path: how much of alpha is signal, not noise
            "alpha_agreement": log_rank_agreement([r["alpha"] for r in results]),
        }
        record.update(self._finish(self._proposal, results, alpha))
        if not results:
            logger.warning("every trial of iteration %d failed; the search state stays", self._iteration)
        self.history.append(to_json(record))
        self._iteration += 1
        self._batch, self._proposal = [], None
        progress_logger.info("%s", self.describe(self.history[-1]))

    # ------------------------------------------------------------ results

    def describe(self, record: Mapping[str, Any]) -> str:
        """One progress line for an iteration record: iteration i/N, metric, best path and its score."""
        return describe_record(record, self.iterations, self.repeats, self.metric)

    def best(self, n: int = 1) -> list[PathRecord]:
        """The best paths found so far, best first: at most ``n``, empty before any path is known.

        By default each successful iteration's recorded best path (FaDE: the largest-alpha cell per row,
        the path of best log FaDE rank), the iterations ranked by the metric (``paths_from_history``); a
        searcher that ranks paths across iterations (evolution's archive) overrides ``_best_paths``.
        Raises ValueError when ``n < 1``.
        """
        return self._best_paths(check_int("n", n, 1))

    def _best_paths(self, n: int) -> list[PathRecord]:
        """``best(n)`` for a checked ``n >= 1``."""
        return paths_from_history(self.history, self.mode, n)

    def final_path(self) -> PathRecord | None:
        """The path a finished search hands to stand-alone training (``best(1)``'s); None before any path."""
        top = self.best(1)
        return top[0] if top else None

    def distinct_row(self, first: Sequence[Any], rng: np.random.Generator) -> list[Any]:
        """``first`` (distinct cells) filled up to ``window`` with distinct uniform samples of the space."""
        row = list(dict.fromkeys(first))
        for _ in range(1000 * self.window):
            if len(row) >= self.window:
                return row[: self.window]
            cell = self.space.sample(rng)
            if cell not in row:
                row.append(cell)
        raise RuntimeError(f"could not draw {self.window} distinct cells from a space of {len(self.space)}")
