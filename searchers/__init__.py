"""Outer search algorithms as Ray Tune searchers (ray.tune.search, numpy, scipy, spaces; never torch)."""

from __future__ import annotations

from searchers.base import BatchSearcher, PathRecord
from searchers.evolution import EvolutionSearcher
from searchers.fade import FaDESearcher, PseudoGradientStep
from searchers.random import RandomSearcher
from searchers.registry import SEARCHERS, make_searcher

__all__ = [
    "SEARCHERS",
    "BatchSearcher",
    "EvolutionSearcher",
    "FaDESearcher",
    "PathRecord",
    "PseudoGradientStep",
    "RandomSearcher",
    "make_searcher",
]
