"""A FaDE DAG cell, its canonical form up to isomorphism and its JSON decode (no space needed).

Conventions (FaDE section 2.4, "Search Space"): inner vertices ``0..n-1`` are labelled topologically
(every edge ``(u, v)`` has ``u < v``); an implicit ``"input"`` vertex feeds every source and an implicit
``"output"`` vertex collects every sink, so even a disconnected DAG becomes one connected cell.

Canonical form: every DAG has a topological labelling, so the DAGs on ``n`` vertices are exactly the
``2^(n(n-1)/2)`` upper-triangular adjacency bitmasks up to relabelling. The canonical form of a mask is
the smallest mask among its relabellings that are again upper-triangular (its topological orderings);
it is computed for all masks at once by looping over the ``n!`` permutations with numpy lookup tables
(about 0.15 s for ``n = 6``), so no enumeration cache has to be shipped. The counts per ``n`` are the
unlabeled acyclic digraphs (OEIS A003087): 1, 2, 6, 31, 302, 5984.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_SUPPORTED_VERTICES",
    "DagCell",
    "canonical",
    "canonical_mask",
    "canonical_table",
    "cell_from_json",
    "cell_of",
    "edge_pairs",
    "is_int",
]

MAX_SUPPORTED_VERTICES = 6  # 7 vertices would be 2^21 masks x 5040 permutations: minutes, not seconds
IntArray = npt.NDArray[np.int64]


def is_int(value: object) -> bool:
    """Whether ``value`` is an integer (Python or numpy), bools excluded."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


@dataclass(frozen=True)
class DagCell:
    """A DAG cell: ``num_vertices`` inner vertices and edges ``(u, v)`` with ``u < v``, stored sorted."""

    num_vertices: int
    edges: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        n = self.num_vertices
        if not is_int(n) or n < 1:
            raise ValueError(f"num_vertices must be an integer >= 1, got {n!r}")
        normalised: list[tuple[int, int]] = []
        for edge in self.edges:
            if len(edge) != 2 or not all(is_int(x) for x in edge):
                raise ValueError(f"edge {edge!r} must be a pair of integers (u, v)")
            u, v = int(edge[0]), int(edge[1])
            if not 0 <= u < v < n:
                raise ValueError(f"edge ({u}, {v}) must satisfy 0 <= u < v < num_vertices={n}")
            normalised.append((u, v))
        if len(set(normalised)) != len(normalised):
            raise ValueError(f"duplicate edges in {sorted(normalised)}")
        object.__setattr__(self, "num_vertices", int(n))
        object.__setattr__(self, "edges", tuple(sorted(normalised)))

    def sources(self) -> tuple[int, ...]:
        """Inner vertices without incoming inner edges (fed by the input vertex)."""
        heads = {v for _, v in self.edges}
        return tuple(v for v in range(self.num_vertices) if v not in heads)

    def sinks(self) -> tuple[int, ...]:
        """Inner vertices without outgoing inner edges (read by the output vertex)."""
        tails = {u for u, _ in self.edges}
        return tuple(v for v in range(self.num_vertices) if v not in tails)


# ---------------------------------------------------------------- canonical form


@functools.cache
def edge_pairs(n: int) -> tuple[tuple[int, int], ...]:
    """Vertex pairs ``u < v`` in lexicographic order; pair ``b`` is bit ``b`` of an adjacency mask."""
    return tuple((u, v) for u in range(n) for v in range(u + 1, n))


def _mask_of(cell: DagCell) -> int:
    index = {pair: b for b, pair in enumerate(edge_pairs(cell.num_vertices))}
    return sum(1 << index[e] for e in cell.edges)


def cell_of(n: int, mask: int) -> DagCell:
    """The cell on ``n`` vertices whose edges are the set bits of ``mask`` (see ``edge_pairs``)."""
    return DagCell(n, tuple(p for b, p in enumerate(edge_pairs(n)) if mask >> b & 1))


@functools.cache
def canonical_table(n: int) -> IntArray:
    """Canonical mask of every upper-triangular mask on ``n`` vertices (read-only array)."""
    pairs = edge_pairs(n)
    num_bits = len(pairs)
    position = {pair: b for b, pair in enumerate(pairs)}
    masks = np.arange(1 << num_bits, dtype=np.int64)
    best = masks.copy()
    # Permuting bits through two lookup tables (low and high byte) keeps each permutation O(masks).
    chunks = [(lo, min(lo + 8, num_bits)) for lo in range(0, num_bits, 8)]
    chunk_bits = [(np.arange(1 << (hi - lo), dtype=np.int64)[:, None] >> np.arange(hi - lo)) & 1
                  for lo, hi in chunks]
    never = np.iinfo(np.int64).max
    for perm in itertools.permutations(range(n)):
        new_position = np.zeros(num_bits, dtype=np.int64)
        backward = 0  # bits whose edge would point backwards under this relabelling
        for b, (u, v) in enumerate(pairs):
            pu, pv = perm[u], perm[v]
            if pu > pv:
                backward |= 1 << b
            else:
                new_position[b] = position[(pu, pv)]
        code = np.zeros_like(masks)
        for (lo, hi), bits in zip(chunks, chunk_bits, strict=True):
            table = (bits << new_position[lo:hi]).sum(axis=1)
            code |= table[(masks >> lo) & ((1 << (hi - lo)) - 1)]
        code[(masks & backward) != 0] = never
        np.minimum(best, code, out=best)
    best.setflags(write=False)
    return best


def canonical_mask(cell: DagCell) -> int:
    """The adjacency mask of ``cell``'s canonical form (on ``cell.num_vertices`` vertices)."""
    if cell.num_vertices > MAX_SUPPORTED_VERTICES:
        raise ValueError(
            f"cell has {cell.num_vertices} vertices; canonical forms are supported for "
            f"1..{MAX_SUPPORTED_VERTICES}"
        )
    return int(canonical_table(cell.num_vertices)[_mask_of(cell)])


def canonical(cell: DagCell) -> DagCell:
    """The canonical representative of ``cell``'s isomorphism class (also topologically labelled)."""
    return cell_of(cell.num_vertices, canonical_mask(cell))


# ---------------------------------------------------------------- JSON


def cell_from_json(obj: object, max_vertices: int = MAX_SUPPORTED_VERTICES) -> DagCell:
    """Validate ``{"n": int, "edges": [[u, v], ...]}`` and return its canonical cell (no space needed)."""
    if not isinstance(obj, Mapping):
        raise ValueError(f"a DAG cell must be a JSON object {{'n', 'edges'}}, got {type(obj).__name__}")
    keys = set(obj)
    if keys != {"n", "edges"}:
        raise ValueError(f"a DAG cell needs exactly the keys ['edges', 'n'], got {sorted(map(str, keys))}")
    n, edges = obj["n"], obj["edges"]
    if not is_int(n) or not 1 <= n <= max_vertices:
        raise ValueError(f"cell 'n' must be an integer in 1..{max_vertices}, got {n!r}")
    if not isinstance(edges, list | tuple):
        raise ValueError(f"cell 'edges' must be a list of [u, v] pairs, got {type(edges).__name__}")
    for edge in edges:
        if not isinstance(edge, list | tuple) or len(edge) != 2 or not all(is_int(x) for x in edge):
            raise ValueError(f"cell edge {edge!r} must be a pair of integers [u, v]")
    return canonical(DagCell(int(n), tuple((int(u), int(v)) for u, v in edges)))
