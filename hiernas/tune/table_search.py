"""Searching a benchmark table through Tune with any searcher: NAS-Bench-201 configs with one operation per
edge (for Tune's own searchers, which sample a ``param_space`` of choices), and a callback that records
which architecture the searcher would return after each trial (the benchmark protocol's "best found")."""

from __future__ import annotations

from typing import Any

from ray import tune

from hiernas.tune.tabular import TableData, tabular_trainable
from searchers import BatchSearcher, REASearcher
from spaces.nb201 import EDGES, Nb201Cell, arch_string


def edge_key(position: int) -> str:
    """The param_space key of edge ``position`` (``EDGES`` order) for the per-edge searchers."""
    return f"edge{position}"


def edges_arch(edges: dict[str, Any]) -> str:
    """The architecture string of a per-edge config (``{edge0: op, ..., edge5: op}``)."""
    return arch_string(Nb201Cell(tuple(str(edges[edge_key(i)]) for i in range(len(EDGES)))))


def edge_trainable(config: dict[str, Any], table: TableData | None = None) -> None:
    """``tabular_trainable`` for a config holding one operation per edge (``edges``) instead of ``arch``."""
    rest = {key: value for key, value in config.items() if key != "edges"}
    tabular_trainable({**rest, "arch": edges_arch(config["edges"])}, table)


def edge_space(ops: tuple[str, ...]) -> dict[str, Any]:
    """The ``edges`` part of a ``param_space``: ``tune.choice`` of ``ops`` on every edge."""
    return {edge_key(i): tune.choice(list(ops)) for i in range(len(EDGES))}


class Trajectory(tune.Callback):
    """After each finished trial: the architecture the searcher would return now (Tune calls the searcher
    with a result before its callbacks, so ``best`` already includes the trial). Our searchers and REA
    say it (``best(1)``); for any other searcher (``None``) it is the evaluated one with the best
    measured ``val_acc``. A failed trial repeats the last pick."""

    def __init__(self, searcher: Any | None) -> None:
        self.searcher = searcher
        self.picks: list[str | None] = []
        self._best: tuple[float, str] | None = None  # searchers without best(): by measured val_acc

    def _pick(self, config: dict[str, Any], result: dict[str, Any]) -> str | None:
        if isinstance(self.searcher, BatchSearcher):
            top = self.searcher.best(1)
            return str(top[0].cells[0]) if top else None
        if isinstance(self.searcher, REASearcher):
            found = self.searcher.best(1)
            return str(found[0].cell) if found else None
        arch = str(config["arch"]) if "arch" in config else edges_arch(config["edges"])
        value = result.get("val_acc")
        if isinstance(value, int | float) and (self._best is None or value > self._best[0]):
            self._best = (float(value), arch)
        return None if self._best is None else self._best[1]

    def on_trial_result(self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any],
                        **info: Any) -> None:
        if result.get("final"):
            self.picks.append(self._pick(trial.config, result))

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.picks.append(self.picks[-1] if self.picks else None)
