"""Regularised evolution (REA; Real, Aggarwal, Huang and Le 2019, Algorithm 1) as a Ray Tune ``Searcher``.

Unlike the BatchSearchers (``searchers.base``: hyper-architectures of ``depth`` rows of ``window`` cells),
a REA trial evaluates **one discrete cell**: ``suggest`` returns ``{config_key: space.encode(cell)}``
(``{"arch": ...}`` by default, what ``hiernas.tune.tabular.tabular_trainable`` evaluates), and the trial's
``metric`` (``val_acc``, mode ``max``) is its fitness. It works over any ``spaces.base.CellSpace`` with
``sample``, ``mutate``, ``encode`` and ``decode``, and imports neither torch nor hiernas. What it shares
with the BatchSearchers (metric and mode, the seeded generator, the JSON state, save/restore) is
``searchers.stateful.StatefulSearcher``'s.

Algorithm (cycles counted in trials):

1. The first ``population_size`` (P) trials evaluate uniform samples of the space (duplicates allowed,
   as in the paper). Further suggestions wait (``None``) until all P have reported (should every one of
   them have failed, uniform samples go on until one succeeds).
2. Every later trial: draw ``sample_size`` (S) members of the population uniformly *with* replacement,
   take the fittest (ties: the older), and evaluate ``space.mutate`` of it; when its result arrives the
   child joins the population and the **oldest** member is removed (ageing, not the worst).
3. After ``evaluations`` trials have been handed out, ``suggest`` returns ``Searcher.FINISHED``.

Defaults: P = 10, S = 3, the settings of NAS-Bench-201's REA baseline (Dong and Yang 2020; NATS-Bench's
``--ea_population 10 --ea_sample_size 3``). With several trials in flight the search is the paper's
asynchronous variant: a child is bred from the population as it stands and joins when it reports. A
failed trial (no finite ``metric``) uses its evaluation but adds no member. ``best(n)`` are the fittest
evaluated cells (by the reported metric, ties: the earlier); ``history`` holds every evaluation in order.

Resuming: ``get_state``/``set_state`` and ``save``/``restore`` (atomic JSON) keep everything, the random
generator included; live trials stay live for ``Tuner.restore`` to resume, and ``reissue_live_trials``
hands their configs out again when they are lost.

Not in ``searchers.registry.SEARCHERS`` (those share ``make_searcher``'s hyper-architecture budget);
``searchers.registry.DISCRETE_SEARCHERS`` and ``make_discrete_searcher`` name it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ray.tune.search.searcher import Searcher

from searchers.records import check_int, finite_metric, to_json
from searchers.stateful import SearchOptions, StatefulSearcher
from spaces.base import CellSpace

if TYPE_CHECKING:
    from typing import Unpack  # Python 3.11+; only in annotations, so 3.10 never imports it

__all__ = ["REA_STATE_FORMAT", "REAOptions", "REASearcher", "Evaluation"]

logger = logging.getLogger(__name__)

REA_STATE_FORMAT = "hiernas.rea_searcher/1"


class REAOptions(SearchOptions, total=False):
    """The keyword options of ``REASearcher`` (defaults there): ``SearchOptions`` and REA's own."""

    population_size: int  # P, the population kept (ageing)
    sample_size: int  # S, the members each tournament draws
    config_key: str  # the trial config key that carries the cell


@dataclass(frozen=True)
class Evaluation:
    """One evaluated cell as ``REASearcher.best`` hands it out."""

    index: int  # position in the order the trials were handed out
    cell: Any  # the cell's JSON form
    metric: float  # the trial's reported metric
    parent: int | None  # index of the evaluation it was mutated from; None for the random population


class REASearcher(StatefulSearcher):
    """Regularised evolution over one cell per trial (module docstring).

    Example (NAS-Bench-201 on its table, no training)::

        from ray import tune
        from hiernas.tune.tabular import tabular_trainable
        from searchers.rea import REASearcher
        from spaces.nb201 import Nb201Space

        searcher = REASearcher(Nb201Space(), evaluations=300, seed=0)
        tune.Tuner(tabular_trainable, param_space={"table": "nb201.csv"},
                   tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1)).fit()
        print(searcher.best(1))
    """

    STATE_FORMAT = REA_STATE_FORMAT
    SETTINGS: ClassVar[tuple[str, ...]] = ("evaluations", "population_size", "sample_size", "config_key", "seed")

    def __init__(
        self,
        space: CellSpace[Any],
        evaluations: int,
        *,
        population_size: int = 10,
        sample_size: int = 3,
        config_key: str = "arch",
        **options: Unpack[SearchOptions],
    ) -> None:
        self.evaluations = check_int("evaluations", evaluations, 1)
        self.population_size = check_int("population_size", population_size, 1)
        self.sample_size = check_int("sample_size", sample_size, 1)
        if not isinstance(config_key, str) or not config_key:
            raise ValueError(f"config_key must be a non-empty string, got {config_key!r}")
        super().__init__(space, **options)
        self.config_key = config_key
        self._population: list[dict[str, Any]] = []  # oldest first: {"index", "cell", "metric"}
        self._live: dict[str, dict[str, Any]] = {}  # trial id -> {"index", "cell", "parent"}
        self._reissue: list[dict[str, Any]] = []  # lost live trials to hand out again
        self._handed_out = 0
        self._seeded = 0  # reports received from the random population (step 1)
        self.history: list[dict[str, Any]] = []  # every finished evaluation, in order of completion

    # ------------------------------------------------------------ Tune protocol

    @property
    def handed_out(self) -> int:
        """Evaluations handed out so far (at most ``evaluations``)."""
        return self._handed_out

    @property
    def finished(self) -> bool:
        """Whether every evaluation was handed out and has reported."""
        return self._handed_out >= self.evaluations and not self._live and not self._reissue

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:  # type: ignore[override]
        """The next cell to evaluate, ``None`` while the initial population is out, then ``FINISHED``."""
        # Ray's annotation (Optional[Dict]) omits the FINISHED sentinel, hence the ignore above.
        if self._reissue:
            entry = self._reissue.pop(0)
        elif self._handed_out >= self.evaluations:
            return Searcher.FINISHED
        elif self._handed_out < self.population_size or (
            self._seeded >= self.population_size and not self._population
        ):  # the random population (again, should every member of it have failed)
            entry = {"index": self._handed_out, "cell": self._encode(self.space.sample(self._rng)), "parent": None}
            self._handed_out += 1
        elif self._seeded < self.population_size:
            return None  # the random population is still out
        else:
            parent = self._tournament()
            child = self.space.mutate(self.space.decode(parent["cell"]), self._rng)
            entry = {"index": self._handed_out, "cell": self._encode(child), "parent": parent["index"]}
            self._handed_out += 1
        self._live[trial_id] = entry
        return {self.config_key: entry["cell"]}

    def on_trial_result(self, trial_id: str, result: dict[Any, Any]) -> None:
        """A trial's final result (``final`` true) counts as its completion (one report per evaluation)."""
        if result.get("final") and trial_id in self._live:
            self.on_trial_complete(trial_id, result=result)

    def on_trial_complete(
        self, trial_id: str, result: dict[Any, Any] | None = None, error: bool = False
    ) -> None:
        """Record the evaluation; a successful child joins the population and the oldest member leaves."""
        entry = self._live.pop(trial_id, None)
        if entry is None:
            return  # taken at its final result already, or not ours
        metric = None if error or result is None else finite_metric(result.get(self.metric))
        if entry["parent"] is None:
            self._seeded += 1
        self.history.append(to_json({**entry, "trial_id": trial_id, "metric": metric}))
        if metric is None:
            logger.warning("REA trial %s (evaluation %d) reported no finite %s; it adds no member",
                           trial_id, entry["index"], self.metric)
            return
        self._population.append({"index": entry["index"], "cell": entry["cell"], "metric": metric})
        while len(self._population) > self.population_size:
            self._population.pop(0)  # ageing: the oldest member dies, however fit

    # ------------------------------------------------------------ the algorithm

    def _encode(self, cell: Any) -> Any:
        return to_json(self.space.encode(cell))

    def _fitness(self, metric: float) -> float:
        return metric if self.mode == "max" else -metric

    def _tournament(self) -> dict[str, Any]:
        """The fittest of ``sample_size`` members drawn uniformly with replacement (ties: the older)."""
        picks = sorted({int(i) for i in self._rng.integers(len(self._population), size=self.sample_size)})
        best = max(picks, key=lambda i: (self._fitness(self._population[i]["metric"]), -i))
        return self._population[best]

    @property
    def population(self) -> list[dict[str, Any]]:
        """The current population, oldest first (``index``, ``cell``, ``metric``)."""
        return [dict(member) for member in self._population]

    def best(self, n: int = 1) -> list[Evaluation]:
        """The ``n`` fittest evaluations so far (by the reported metric; ties: the earlier), best first."""
        check_int("n", n, 1)
        scored = [h for h in self.history if h["metric"] is not None]
        scored.sort(key=lambda h: (-self._fitness(h["metric"]), h["index"]))
        return [Evaluation(h["index"], h["cell"], h["metric"], h["parent"]) for h in scored[:n]]

    # ------------------------------------------------------------ state

    def _progress_state(self) -> dict[str, Any]:
        """The evaluations handed out, the population, the live and lost trials and the history."""
        return {
            "handed_out": self._handed_out,
            "seeded": self._seeded,
            "population": self._population,
            "live": self._live,
            "reissue": self._reissue,
            "history": self.history,
        }

    def _check_settings(self, saved: Mapping[str, Any]) -> None:
        """The saved settings must equal the current ones exactly."""
        settings = to_json(self._all_settings())
        if saved != settings:
            raise ValueError(f"searcher settings differ from the saved state: saved {saved}, current {settings}")

    def _set_progress_state(self, state: Mapping[str, Any]) -> None:
        """Inverse of ``_progress_state``; live trials stay live for ``Tuner.restore`` to resume."""
        self._handed_out = int(state["handed_out"])
        self._seeded = int(state["seeded"])
        self._population = [dict(m) for m in state["population"]]
        self._live = {str(k): dict(v) for k, v in state["live"].items()}
        self._reissue = [dict(e) for e in state["reissue"]]
        self.history = [dict(h) for h in state["history"]]

    def reissue_live_trials(self) -> int:
        """Hand the configs of the live trials out again (their trials are lost); returns how many."""
        lost = sorted(self._live.values(), key=lambda e: e["index"])
        self._reissue.extend(lost)
        self._live.clear()
        return len(lost)
