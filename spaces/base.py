"""The ``CellSpace`` protocol: what an outer searcher needs from a space of cell architectures.

A space maps cells into a normalised Euclidean feature space (FaDE section 2.4) and back (``nearest``),
edits cells inside the space (``mutate``, ``crossover``) and round-trips them through JSON, which is the
only form in which cells travel inside Ray Tune trial configs. ``UnitFeatureBox`` gives a space whose
features lie in the unit box its ``dim`` and ``bounds``.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable, Iterable
from typing import Any, Protocol, TypeVar, runtime_checkable

import networkx as nx
import numpy as np
import numpy.typing as npt

__all__ = ["CellSpace", "CellT", "FloatArray", "Json", "UnitFeatureBox"]

CellT = TypeVar("CellT", bound=Hashable)
FloatArray = npt.NDArray[np.float64]
Json = dict[str, Any] | list[Any] | str | int | float | bool | None


@runtime_checkable
class CellSpace(Protocol[CellT]):
    """A finite space of cells with a feature embedding in ``[0, 1]^dim``; cells are hashable values."""

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the feature dimensions, in order."""
        ...

    @property
    def dim(self) -> int:
        """Number of feature dimensions."""
        ...

    @property
    def bounds(self) -> tuple[FloatArray, FloatArray]:
        """Lower and upper corner of the feature box (arrays of shape ``(dim,)``)."""
        ...

    def __len__(self) -> int:
        """Number of distinct cells in the space."""
        ...

    def sample(self, rng: np.random.Generator) -> CellT:
        """Draw one cell uniformly from the space."""
        ...

    def features(self, cell: CellT) -> FloatArray:
        """Normalised feature vector of ``cell``, shape ``(dim,)``, entries in ``[0, 1]``."""
        ...

    def nearest(
        self, point: npt.ArrayLike, exclude: Iterable[CellT] = (), rng: np.random.Generator | None = None
    ) -> CellT:
        """The cell whose features are nearest to ``point``, skipping the cells in ``exclude``.

        Equally near cells: a uniform one drawn from ``rng`` when given, else the space's fixed rule.
        """
        ...

    def encode(self, cell: CellT) -> Json:
        """JSON-able form of ``cell`` (what trial configs carry)."""
        ...

    def decode(self, obj: object) -> CellT:
        """Inverse of ``encode``; validates ``obj`` and raises ``ValueError`` on bad input."""
        ...

    def to_graph(self, cell: CellT) -> nx.DiGraph:
        """The cell as a directed graph (for features, plots and module building)."""
        ...

    def mutate(self, cell: CellT, rng: np.random.Generator) -> CellT:
        """A small random edit of ``cell`` that stays inside the space."""
        ...

    def crossover(self, a: CellT, b: CellT, rng: np.random.Generator) -> CellT:
        """A random child combining ``a`` and ``b``, inside the space."""
        ...


class UnitFeatureBox(abc.ABC):
    """Mixin for spaces whose features lie in ``[0, 1]^dim``: ``dim`` and ``bounds`` follow from ``feature_names``."""

    @property
    @abc.abstractmethod
    def feature_names(self) -> tuple[str, ...]:
        """Names of the feature dimensions, in order."""

    @property
    def dim(self) -> int:
        """Number of feature dimensions."""
        return len(self.feature_names)

    @property
    def bounds(self) -> tuple[FloatArray, FloatArray]:
        """The unit box: zeros and ones of shape ``(dim,)``."""
        return np.zeros(self.dim), np.ones(self.dim)
