"""Outer search algorithms as Ray Tune searchers (ray.tune.search, numpy, scipy, spaces; never torch)."""

from __future__ import annotations

from searchers.base import BatchSearcher, PathRecord
from searchers.evolution import EvolutionSearcher
from searchers.fade import FaDESearcher, PseudoGradientStep
from searchers.random import RandomSearcher
from searchers.rea import REASearcher
from searchers.registry import DISCRETE_SEARCHERS, SEARCHERS, make_discrete_searcher, make_searcher

__all__ = [
    "DISCRETE_SEARCHERS",
    "SEARCHERS",
    "BatchSearcher",
    "EvolutionSearcher",
    "FaDESearcher",
    "PathRecord",
    "PseudoGradientStep",
    "REASearcher",
    "RandomSearcher",
    "make_discrete_searcher",
    "make_searcher",
]
