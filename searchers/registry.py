"""The searchers by name: ``make_searcher("fade" | "evolution" | "random", space, ...)`` (no torch).

``SEARCHERS`` search hyper-architectures (BatchSearchers: ``depth`` rows of ``window`` cells per trial).
``DISCRETE_SEARCHERS`` evaluate one cell per trial (``{"arch": cell JSON}``) and are built by
``make_discrete_searcher(name, space, evaluations, ...)``: ``rea`` (regularised evolution,
``searchers.rea``). They take no depth, window or repeats, so they are kept apart from ``SEARCHERS``
(which ``hiernas.tune.search``'s hierarchical search accepts).

Every searcher gets the same budget (``iterations`` batches of ``repeats`` trials over ``depth`` rows of
``window`` cells), the same metric and mode and the same seed; ``gamma``, ``step`` and ``estimator`` are
FaDE's own (its probe width, step size and pseudo-gradient estimator, ``searchers.fade.ESTIMATORS``) and
are ignored by the others, which keep their defaults otherwise.
"""

from __future__ import annotations

from typing import Any

from searchers.base import BatchSearcher
from searchers.evolution import EvolutionSearcher
from searchers.fade import FaDESearcher
from searchers.random import RandomSearcher
from searchers.rea import REASearcher
from spaces.base import CellSpace

__all__ = ["DISCRETE_SEARCHERS", "SEARCHERS", "make_discrete_searcher", "make_searcher"]

SEARCHERS = ("fade", "evolution", "random")
DISCRETE_SEARCHERS = ("rea",)


def make_searcher(
    name: str,
    space: CellSpace[Any],
    depth: int,
    window: int,
    iterations: int,
    *,
    repeats: int = 1,
    seed: int = 0,
    gamma: float = 0.1,
    step: float = 1.0,
    estimator: str = "least_squares",
    metric: str = "val_acc",
    mode: str = "max",
) -> BatchSearcher:
    """The searcher called ``name`` (one of ``SEARCHERS``) over ``space``; a ValueError for another name."""
    common: dict[str, Any] = {"repeats": repeats, "metric": metric, "mode": mode, "seed": seed}
    if name == "fade":
        return FaDESearcher(
            space, depth, window, iterations, gamma=gamma, step=step, estimator=estimator, **common
        )
    if name == "evolution":
        return EvolutionSearcher(space, depth, window, iterations, **common)
    if name == "random":
        return RandomSearcher(space, depth, window, iterations, **common)
    raise ValueError(f"unknown searcher {name!r}; expected one of {list(SEARCHERS)}")


def make_discrete_searcher(
    name: str,
    space: CellSpace[Any],
    evaluations: int,
    *,
    seed: int = 0,
    population_size: int = 10,
    sample_size: int = 3,
    config_key: str = "arch",
    metric: str = "val_acc",
    mode: str = "max",
) -> REASearcher:
    """The one-cell-per-trial searcher called ``name`` (one of ``DISCRETE_SEARCHERS``); a ValueError otherwise."""
    if name == "rea":
        return REASearcher(space, evaluations, population_size=population_size, sample_size=sample_size,
                           config_key=config_key, metric=metric, mode=mode, seed=seed)
    raise ValueError(f"unknown discrete searcher {name!r}; expected one of {list(DISCRETE_SEARCHERS)}")
