"""The searchers by name: ``make_searcher("fade" | "evolution" | "random", space, ...)`` (no torch).

``SEARCHERS`` search hyper-architectures (BatchSearchers: ``depth`` rows of ``window`` cells per trial).
``DISCRETE_SEARCHERS`` evaluate one cell per trial (``{"arch": cell JSON}``) and are built by
``make_discrete_searcher(name, space, evaluations, ...)``: ``rea`` (regularised evolution,
``searchers.rea``). They take no depth, window or repeats, so they are kept apart from ``SEARCHERS``
(which ``hiernas.tune.search``'s hierarchical search accepts).

Every searcher gets the same budget (``iterations`` batches of ``repeats`` trials over ``depth`` rows of
``window`` cells), the same metric and mode and the same seed; ``gamma``, ``step``, ``estimator`` and
``ties`` are FaDE's own (its probe width, step size, pseudo-gradient estimator ``searchers.fade.ESTIMATORS``
and tie rule ``searchers.fade.TIES``) and are ignored by the others, which keep their defaults otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from searchers.base import BatchOptions, BatchSearcher
from searchers.evolution import EvolutionSearcher
from searchers.fade import FaDESearcher
from searchers.random import RandomSearcher
from searchers.rea import REAOptions, REASearcher
from spaces.base import CellSpace

if TYPE_CHECKING:
    from typing import Unpack  # Python 3.11+; only in annotations, so 3.10 never imports it

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
    gamma: float = 0.1,
    step: float = 1.0,
    estimator: str = "least_squares",
    ties: str = "random",
    **options: Unpack[BatchOptions],
) -> BatchSearcher:
    """The searcher called ``name`` (one of ``SEARCHERS``) over ``space``; a ValueError for another name.

    ``options`` (repeats, metric, mode, seed) go to every searcher, with the searchers' defaults.
    """
    if name == "fade":
        return FaDESearcher(
            space, depth, window, iterations, gamma=gamma, step=step, estimator=estimator, ties=ties, **options
        )
    if name == "evolution":
        return EvolutionSearcher(space, depth, window, iterations, **options)
    if name == "random":
        return RandomSearcher(space, depth, window, iterations, **options)
    raise ValueError(f"unknown searcher {name!r}; expected one of {list(SEARCHERS)}")


def make_discrete_searcher(
    name: str, space: CellSpace[Any], evaluations: int, **options: Unpack[REAOptions]
) -> REASearcher:
    """The one-cell-per-trial searcher called ``name`` (one of ``DISCRETE_SEARCHERS``); a ValueError otherwise.

    ``options`` (population_size, sample_size, config_key, metric, mode, seed) go to it, with its defaults.
    """
    if name == "rea":
        return REASearcher(space, evaluations, **options)
    raise ValueError(f"unknown discrete searcher {name!r}; expected one of {list(DISCRETE_SEARCHERS)}")
