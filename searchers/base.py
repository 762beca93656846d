"""Batch-synchronous Ray Tune searchers: the machinery shared by the FaDE, DARTS-PD and random searches.

Every iteration is one batch of ``repeats`` trials that train the same hyper-architecture (``depth`` rows
of ``window`` cells) with different seeds. ``suggest`` hands out the batch's configs one by one, then
returns ``None`` while the batch is out and ``Searcher.FINISHED`` after ``iterations`` batches. When the
last trial of a batch completes, the subclass turns the results into the next batch (``_finish``) and the
iteration is appended to ``history``.

Resuming: ``get_state``/``set_state`` and ``save``/``restore`` (atomic JSON) keep the whole state, the
random generator included. Tune snapshots the searcher together with its trial table, and
``Tuner.restore(resume_unfinished=True)`` resumes the trials that were live at the snapshot under their
own ids, so a restored searcher keeps waiting for them and nothing is trained twice. A caller that
restores the searcher without resuming those trials calls ``reissue_live_trials``: their configs (same
cells, same seeds) are handed out again, and the record still equals that of an uninterrupted run. If
both an old and a re-issued trial report, the first fills the slot and the other is logged and ignored.
"""

from __future__ import annotations

import abc
import copy
import json
import logging
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from ray.tune.search.searcher import Searcher

from spaces.base import CellSpace, FloatArray

__all__ = ["BatchSearcher", "PathRecord", "Proposal", "check_float", "check_int", "to_json"]

logger = logging.getLogger(__name__)
# one INFO line per finished iteration; scripts show it, library users opt in through logging
progress_logger = logging.getLogger("searchers.progress")

STATE_FORMAT = "hiernas.batch_searcher/1"
PENDING, LIVE, DONE, FAILED = "pending", "live", "done", "failed"
SEED_RANGE = 2**31 - 1


def check_int(name: str, value: object, low: int, high: float = math.inf) -> int:
    """``value`` as an int in ``[low, high]``, else a ValueError naming it and the range."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        allowed = f">= {low}" if high == math.inf else f"in {low}..{int(high)}"
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")
    return int(value)


def check_float(
    name: str, value: object, low: float, high: float, *, low_open: bool, high_open: bool
) -> float:
    """``value`` as a finite float in the given interval, else a ValueError naming it and the interval."""
    interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    number = float(value)
    inside = (low < number if low_open else low <= number) and (
        number < high if high_open else number <= high
    )
    if not math.isfinite(number) or not inside:
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return number


def to_json(value: Any) -> Any:
    """A JSON-able copy: numpy to Python, tuples to lists, non-finite floats to None."""
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [to_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"{type(value).__name__} value {value!r} is not JSON-able")


@dataclass(frozen=True)
class PathRecord:
    """A path through the rows (one cell per row) found by a searcher."""

    iteration: int  # 0-based iteration whose hyper-architecture held the path
    indices: tuple[int, ...]  # candidate index per row
    cells: tuple[Any, ...]  # cell JSON per row
    score: float  # log FaDE rank (FaDE, random) or validation accuracy of the path (evolution)
    metric: float | None  # the searcher's metric for that iteration (mean over repeats)


@dataclass(frozen=True)
class Proposal:
    """One iteration's hyper-architecture as a subclass proposes it."""

    cells: list[list[Any]]  # cell JSON, ``depth`` rows of ``window``
    plan: dict[str, Any] = field(default_factory=dict)  # JSON-able, handed back to ``_finish``
    extra_config: dict[str, Any] = field(default_factory=dict)  # merged into every trial config


@dataclass
class _Slot:
    """One trial of the current batch (mutable bookkeeping, not a parameter bundle)."""

    config: dict[str, Any]
    status: str = PENDING
    trial_ids: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None


class BatchSearcher(Searcher, abc.ABC):
    """Base class: batches, bookkeeping, state and atomic save; subclasses implement the search step."""

    RESULT_KEYS: ClassVar[tuple[str, ...]] = ("top_paths", "top_log_ranks")  # kept from each result
    MIN_WINDOW: ClassVar[int] = 1

    def __init__(
        self,
        space: CellSpace[Any],
        depth: int,
        window: int,
        iterations: int,
        *,
        repeats: int = 1,
        metric: str = "val_acc",
        mode: str = "max",
        seed: int = 0,
    ) -> None:
        self.depth = check_int("depth", depth, 1)
        self.window = check_int("window", window, self.MIN_WINDOW)
        self.iterations = check_int("iterations", iterations, 1)
        self.repeats = check_int("repeats", repeats, 1)
        self.seed = check_int("seed", seed, 0)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"metric must be a non-empty string, got {metric!r}")
        if len(space) < self.window:
            raise ValueError(f"window={self.window} exceeds the {len(space)} cells of the space")
        super().__init__(metric=metric, mode=mode)
        self.space = space
        self._rng = np.random.default_rng(self.seed)
        self._iteration = 0
        self._batch: list[_Slot] = []
        self._proposal: Proposal | None = None
        self._trials: dict[str, list[int]] = {}  # trial id -> [iteration, slot]
        self._completed: set[str] = set()
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
    def _settings(self) -> dict[str, Any]:
        """Constructor arguments beyond the base ones (checked on ``set_state``)."""

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

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[Any, Any], **spec: Any
    ) -> bool:
        """Take metric and mode from the ``TuneConfig`` when given; the param_space is Tune's to merge."""
        if mode is not None and mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if metric:
            self._metric = metric
        if mode:
            self._mode = mode
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:  # type: ignore[override]
        """The next config of the current batch, ``None`` while the batch is out, ``FINISHED`` at the end."""
        # Ray's annotation (Optional[Dict]) omits the FINISHED sentinel, hence the ignore above.
        if self.finished:
            return Searcher.FINISHED
        if self._proposal is None:
            self._start_iteration()
        for index, slot in enumerate(self._batch):
            if slot.status == PENDING:
                slot.status = LIVE
                slot.trial_ids.append(trial_id)
                self._trials[trial_id] = [self._iteration, index]
                return copy.deepcopy(slot.config)
        return None

    def on_trial_complete(
        self, trial_id: str, result: dict[Any, Any] | None = None, error: bool = False
    ) -> None:
        """Record a trial's last result; a full batch triggers the search step."""
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
            logger.warning(
                "trial %s repeats slot %d of iteration %d, which already has a result; ignored",
                trial_id,
                index,
                iteration,
            )
            return
        extracted = None if error or result is None else self._extract(trial_id, result)
        if extracted is None:
            logger.warning(
                "trial %s of iteration %d failed (error=%s); its alpha counts as missing",
                trial_id,
                iteration,
                error,
            )
            slot.status = FAILED
        else:
            slot.status, slot.result = DONE, extracted
        if all(s.status in (DONE, FAILED) for s in self._batch):
            self._finish_iteration()

    # ------------------------------------------------------------ state

    def get_state(self) -> dict[str, Any]:
        """The whole state as a JSON-able dict (an explicit format, never ``__dict__``)."""
        proposal = self._proposal
        state: dict[str, Any] = to_json(
            {
                "format": STATE_FORMAT,
                "class": type(self).__name__,
                "settings": self._all_settings(),
                "metric": self._metric,
                "mode": self._mode,
                "rng": self._rng.bit_generator.state,
                "iteration": self._iteration,
                "proposal": None
                if proposal is None
                else {
                    "cells": proposal.cells,
                    "plan": proposal.plan,
                    "extra_config": proposal.extra_config,
                },
                "batch": [
                    {"config": s.config, "status": s.status, "trial_ids": s.trial_ids, "result": s.result}
                    for s in self._batch
                ],
                "trials": self._trials,
                "completed": sorted(self._completed),
                "history": self.history,
                "algorithm": self._algorithm_state(),
            }
        )
        return state

    def set_state(self, state: dict[Any, Any]) -> None:
        """Restore ``get_state`` output; live trials stay live (Tune resumes them, see the module docstring)."""
        try:
            if state["format"] != STATE_FORMAT or state["class"] != type(self).__name__:
                raise ValueError(
                    f"state of {state['class']!r} in format {state['format']!r} cannot restore a "
                    f"{type(self).__name__} ({STATE_FORMAT})"
                )
            mismatched = {
                key: (state["settings"].get(key), value)
                for key, value in self._all_settings().items()
                if to_json(value) != state["settings"].get(key)
            }
            if mismatched:
                raise ValueError(
                    f"searcher settings differ from the saved state (saved, current): {mismatched}"
                )
            bit_generator = getattr(np.random, state["rng"]["bit_generator"])()
            bit_generator.state = state["rng"]
            proposal = state["proposal"]
            batch = [
                _Slot(
                    config=s["config"], status=s["status"], trial_ids=list(s["trial_ids"]), result=s["result"]
                )
                for s in state["batch"]
            ]
            self._rng = np.random.Generator(bit_generator)
            self._metric, self._mode = state["metric"], state["mode"]
            self._iteration = int(state["iteration"])
            self._proposal = (
                None
                if proposal is None
                else Proposal(
                    cells=proposal["cells"], plan=proposal["plan"], extra_config=proposal["extra_config"]
                )
            )
            self._batch = batch
            self._trials = {str(k): [int(v[0]), int(v[1])] for k, v in state["trials"].items()}
            self._completed = set(state["completed"])
            self.history = list(state["history"])
            self._set_algorithm_state(state["algorithm"])
        except KeyError as exc:
            raise ValueError(f"searcher state is missing the key {exc.args[0]!r}") from None

    def reissue_live_trials(self) -> int:
        """Hand the configs of the current batch's live trials out again (their trials are lost).

        Needed only when the searcher is restored without Tune resuming those trials; returns how many.
        """
        live = [slot for slot in self._batch if slot.status == LIVE]
        for slot in live:
            slot.status = PENDING
        return len(live)

    def save(self, checkpoint_path: str) -> None:
        """Write the state as JSON atomically (temp file in the same directory, then ``os.replace``)."""
        directory = os.path.dirname(os.path.abspath(checkpoint_path))
        handle, temp_path = tempfile.mkstemp(prefix=".searcher-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(handle, "w") as stream:
                json.dump(self.get_state(), stream)
            os.replace(temp_path, checkpoint_path)
        except BaseException:
            if os.path.exists(temp_path):
                os.unlink(temp_path)
            raise

    def restore(self, checkpoint_path: str) -> None:
        """Load a state written by ``save``."""
        with open(checkpoint_path) as stream:
            self.set_state(json.load(stream))

    # ------------------------------------------------------------ helpers

    def _all_settings(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "window": self.window,
            "iterations": self.iterations,
            "repeats": self.repeats,
            "seed": self.seed,
            **self._settings(),
        }

    def _start_iteration(self) -> None:
        proposal = self._propose()
        if len(proposal.cells) != self.depth or any(len(row) != self.window for row in proposal.cells):
            raise RuntimeError(f"{type(self).__name__} proposed a hyper-architecture of the wrong shape")
        seeds = [int(self._rng.integers(SEED_RANGE)) for _ in range(self.repeats)]
        self._proposal = proposal
        self._batch = [
            _Slot(config=to_json({**proposal.extra_config, "cells": proposal.cells, "seed": seed}))
            for seed in seeds
        ]

    def _extract(self, trial_id: str, result: Mapping[str, Any]) -> dict[str, Any] | None:
        """The parts of a result the searcher keeps; None (counted as failed) without a valid ``alpha``."""
        alpha = self.parse_alpha(result.get("alpha"))
        if alpha is None:
            logger.warning(
                "trial %s reported no valid alpha of shape (%d, %d)", trial_id, self.depth, self.window
            )
            return None
        value = result.get(self.metric)
        metric = (
            float(value)
            if isinstance(value, int | float | np.number) and not isinstance(value, bool)
            else None
        )
        kept = {key: to_json(result[key]) for key in self.RESULT_KEYS if key in result}
        return {
            "alpha": alpha.tolist(),
            "metric": metric if metric is None or math.isfinite(metric) else None,
            **kept,
        }

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
        }
        record.update(self._finish(self._proposal, results, alpha))
        if not results:
            logger.warning("every trial of iteration %d failed; the search state stays", self._iteration)
        self.history.append(to_json(record))
        self._iteration += 1
        self._batch, self._proposal = [], None
        progress_logger.info("%s", self.describe(self.history[-1]))

    def describe(self, record: Mapping[str, Any]) -> str:
        """One progress line for an iteration record: iteration i/N, metric, best path and its score."""
        parts = [f"iteration {int(record['iteration']) + 1}/{self.iterations}"]
        if record.get("metric") is not None:
            parts.append(f"{self.metric} {record['metric']:.3f} ({record['repeats_ok']}/{self.repeats} ok)")
        else:
            parts.append(f"no {self.metric} ({record['repeats_ok']}/{self.repeats} ok)")
        if record.get("best_path") is not None:
            score = record.get("log_rank")
            parts.append(f"best path {record['best_path']}" + ("" if score is None else f" log-rank {score:.3f}"))
        return f"{parts[0]}: {', '.join(parts[1:])}"

    def path_fields(
        self, cells: Sequence[Sequence[Any]], path: Sequence[int], alpha: FloatArray
    ) -> dict[str, Any]:
        """Record fields of a path: its indices, its cells and its log FaDE rank (sum of log alpha)."""
        with np.errstate(divide="ignore"):
            log_rank = float(sum(np.log(alpha[row, j]) for row, j in enumerate(path)))
        return {
            "best_path": [int(j) for j in path],
            "best_cells": [cells[row][j] for row, j in enumerate(path)],
            "log_rank": log_rank if math.isfinite(log_rank) else None,
        }

    def final_path(self) -> PathRecord | None:
        """The path a finished search hands to stand-alone training; None before any successful iteration.

        By default ``best_from_history``; a searcher with its own cross-iteration ranking overrides it.
        """
        return self.best_from_history()

    def best_from_history(self) -> PathRecord | None:
        """The recorded best path of the iteration with the best metric (ties: the earliest).

        FaDE ranks are relative to one hyper-architecture and cannot be compared across iterations, so
        the iteration is chosen by the trainable's metric; without any metric, the last successful one.
        """
        candidates = [r for r in self.history if r["status"] == "ok" and r.get("best_path") is not None]
        if not candidates:
            return None
        scored = [r for r in candidates if r["metric"] is not None]
        if scored:
            sign = 1.0 if self.mode == "max" else -1.0
            chosen = max(scored, key=lambda r: (sign * r["metric"], -r["iteration"]))
        else:
            chosen = candidates[-1]
        log_rank = chosen["log_rank"]
        return PathRecord(
            iteration=int(chosen["iteration"]),
            indices=tuple(chosen["best_path"]),
            cells=tuple(chosen["best_cells"]),
            score=-math.inf if log_rank is None else float(log_rank),
            metric=chosen["metric"],
        )

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
