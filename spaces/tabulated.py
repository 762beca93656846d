"""Finite cell spaces with a precomputed feature table: ``TabulatedSpace``, the base of ``DagSpace`` and ``Nb201Space``.

Such a space lists every cell once (``cells``, in index order), computes each cell's features, min-max
normalises them to ``[0, 1]`` over the whole space (a feature that is constant over the space maps to 0)
and answers ``nearest`` exactly, with a KD-tree over the distinct feature vectors (many cells can share
one). A subclass builds its ``FeatureTable`` with ``tabulate`` once per recipe (cached, so equal spaces
share it), maps a cell to its index and edits cells; the space pickles as its recipe, not its tables.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic

import numpy as np
import numpy.typing as npt

from spaces.base import CellT, FloatArray, UnitFeatureBox

__all__ = ["TIE_TOLERANCE", "FeatureTable", "TabulatedSpace", "check_feature_names", "tabulate"]

TIE_TOLERANCE = 1e-12  # distances this close count as equal (the KD-tree's float rounding)


@dataclass(frozen=True, eq=False)
class FeatureTable(Generic[CellT]):
    """Every cell of a space with its features: what a ``TabulatedSpace`` precomputes once per recipe."""

    cells: tuple[CellT, ...]
    raw: FloatArray  # (cells, dim) unnormalised features
    normalised: FloatArray  # (cells, dim) in [0, 1]
    groups: tuple[tuple[int, ...], ...]  # cell indices (ascending) per distinct feature vector
    tree: Any  # cKDTree over the distinct normalised feature vectors, row g holds groups[g]


def tabulate(cells: Sequence[CellT], features: Sequence[Callable[[CellT], float]]) -> FeatureTable[CellT]:
    """The feature table of ``cells`` (normalised over them, grouped by distinct vector, a KD-tree over those).

    scipy loads here, not at import: trials only decode cells and should not pay for it.
    """
    from scipy.spatial import cKDTree

    raw = np.array([[fn(cell) for fn in features] for cell in cells], dtype=np.float64)
    low, high = raw.min(axis=0), raw.max(axis=0)
    normalised = (raw - low) / np.where(high > low, high - low, 1.0)
    unique, inverse = np.unique(normalised, axis=0, return_inverse=True)
    members: list[list[int]] = [[] for _ in range(len(unique))]
    for i, group in enumerate(inverse.reshape(-1).tolist()):
        members[group].append(i)
    for array in (raw, normalised):
        array.setflags(write=False)
    return FeatureTable(tuple(cells), raw, normalised, tuple(tuple(m) for m in members), cKDTree(unique))


def check_feature_names(feature_names: Iterable[str], registry: Mapping[str, object]) -> tuple[str, ...]:
    """``feature_names`` as a tuple of distinct names of ``registry``, else a ValueError listing the valid ones."""
    names = tuple(feature_names)
    if not names:
        raise ValueError(f"feature_names must not be empty; valid names: {sorted(registry)}")
    unknown = [name for name in names if name not in registry]
    if unknown:
        raise ValueError(f"unknown feature name(s) {unknown}; valid names: {sorted(registry)}")
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate feature names in {list(names)}")
    return names


class TabulatedSpace(UnitFeatureBox, Generic[CellT]):
    """A finite ``CellSpace`` whose every cell and feature vector is precomputed, so ``nearest`` is exact.

    A subclass passes its checked feature names and its (cached) ``FeatureTable`` to ``__init__`` and
    implements ``index_of``, ``_recipe`` and the cell-specific methods (encode, decode, graphs, edits).
    """

    # Which of several equidistant cells ``nearest`` returns when some are excluded: the lowest free index
    # ("cell"), or the first free cell of the feature group whose lowest index, excluded or not, is lowest
    # ("group"). They differ only when an excluded cell heads a group that ties with another group.
    NEAREST_TIES: ClassVar[str] = "cell"

    def __init__(self, feature_names: tuple[str, ...], table: FeatureTable[CellT]) -> None:
        self._feature_names = feature_names
        self._table = table

    @abc.abstractmethod
    def index_of(self, cell: CellT) -> int:
        """Position of ``cell`` in ``cells``; a ValueError for a cell of another space."""

    @abc.abstractmethod
    def _recipe(self) -> dict[str, Any]:
        """The constructor's arguments by name, in positional order (what pickles and ``repr`` show)."""

    def __reduce__(self) -> tuple[type[TabulatedSpace[CellT]], tuple[Any, ...]]:
        # Pickle the recipe, not the tables: Ray ships searchers (and their space) between processes.
        return (type(self), tuple(self._recipe().values()))

    def __repr__(self) -> str:
        arguments = ", ".join(f"{name}={value!r}" for name, value in self._recipe().items())
        return f"{type(self).__name__}({arguments})"

    def __len__(self) -> int:
        return len(self._table.cells)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the feature dimensions, in order."""
        return self._feature_names

    @property
    def cells(self) -> tuple[CellT, ...]:
        """Every cell of the space, in index order."""
        return self._table.cells

    @property
    def feature_matrix(self) -> FloatArray:
        """Normalised features of every cell, shape ``(len(space), dim)`` (read-only)."""
        return self._table.normalised

    @property
    def raw_feature_matrix(self) -> FloatArray:
        """Unnormalised features of every cell, shape ``(len(space), dim)`` (read-only)."""
        return self._table.raw

    def sample(self, rng: np.random.Generator) -> CellT:
        """A uniform cell of the space."""
        return self._table.cells[int(rng.integers(len(self)))]

    def features(self, cell: CellT) -> FloatArray:
        """Normalised feature vector of ``cell`` (a copy)."""
        return np.array(self._table.normalised[self.index_of(cell)], dtype=np.float64)

    def nearest(
        self, point: npt.ArrayLike, exclude: Iterable[CellT] = (), rng: np.random.Generator | None = None
    ) -> CellT:
        """Nearest cell (Euclidean, normalised features) to ``point`` outside ``exclude``.

        Ties (cells of one feature group, or groups at the same distance): with ``rng`` a uniform draw
        among every free tied cell, else ``NEAREST_TIES``. Many cells share a feature vector, so a fixed
        rule would hide all but one cell of a group from a search that moves in feature space.
        """
        query = np.asarray(point, dtype=np.float64)
        if query.shape != (self.dim,) or not np.all(np.isfinite(query)):
            raise ValueError(f"point must be a finite vector of shape ({self.dim},), got {query.tolist()!r}")
        excluded = {self.index_of(cell) for cell in exclude}
        if len(excluded) >= len(self):
            raise ValueError(f"all {len(self)} cells of the space are excluded")
        groups, tree = self._table.groups, self._table.tree
        k = min(8, len(groups))
        while True:
            distances, found = tree.query(query, k=k)
            distances, found = np.atleast_1d(distances).tolist(), np.atleast_1d(found).tolist()
            complete = k == len(groups)
            # A group at the k-th distance may tie with one not returned: trust it only when all returned.
            limit = distances[-1]
            nearest_first = [(d, g) for d, g in zip(distances, found, strict=True) if complete or d < limit]
            if rng is None:
                cell = self._first_by_tie_rule(nearest_first, excluded)
            else:
                cell = self._draw_among_nearest(nearest_first, excluded, rng)
            if cell is not None:
                return self._table.cells[cell]
            k = min(4 * k, len(groups))

    def _first_by_tie_rule(self, nearest_first: list[tuple[float, int]], excluded: set[int]) -> int | None:
        """The nearest free cell of the (distance, group) pairs, ties by ``NEAREST_TIES``; None if none is free."""
        groups = self._table.groups
        candidates: list[tuple[float, int, int]] = []  # (distance, tie order, free cell)
        for distance, group in nearest_first:
            free = next((i for i in groups[group] if i not in excluded), None)
            if free is not None:
                order = groups[group][0] if self.NEAREST_TIES == "group" else free
                candidates.append((distance, order, free))
        return min(candidates)[2] if candidates else None

    def _draw_among_nearest(
        self, nearest_first: list[tuple[float, int]], excluded: set[int], rng: np.random.Generator
    ) -> int | None:
        """A uniform draw among every free cell at the smallest distance of the (distance, group) pairs
        (sorted by distance); None if none is free."""
        tied: list[int] = []
        nearest = 0.0
        for distance, group in nearest_first:
            if tied and distance > nearest + TIE_TOLERANCE:
                break
            free = [i for i in self._table.groups[group] if i not in excluded]
            if free and not tied:
                nearest = distance
            tied += free
        return tied[int(rng.integers(len(tied)))] if tied else None
