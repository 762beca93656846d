"""Graph features of DAG cells and their registry ``FEATURES`` (FaDE section 3.2 uses the first three).

Each feature maps a cell to a float, computed on the full graph (inner vertices plus the input and
output vertices of ``DagSpace.to_graph``); ``DagSpace`` min-max normalises them over the whole space.
- ``eccentricity_var``: population variance of the vertex eccentricities of the *undirected* full graph
  (connected thanks to input and output), over all ``n + 2`` vertices.
- ``degree_var``: population variance of the total degree (in + out) of all ``n + 2`` vertices.
- ``num_vertices``: number of inner vertices ``n``.
- ``num_edges``: number of inner edges. ``longest_path``: edges on the longest inner path.
"""

from __future__ import annotations

from collections.abc import Callable

from spaces.dag_cell import DagCell

__all__ = [
    "DEFAULT_FEATURES",
    "FEATURES",
    "FeatureFn",
    "degree_variance",
    "eccentricity_variance",
    "longest_path",
    "num_edges",
    "num_vertices",
    "register_feature",
]

DEFAULT_FEATURES = ("eccentricity_var", "degree_var", "num_vertices")

FeatureFn = Callable[[DagCell], float]


def _full_adjacency(cell: DagCell) -> list[list[int]]:
    """Undirected adjacency lists of the full graph; vertex ``n`` is input, ``n + 1`` is output."""
    n = cell.num_vertices
    neighbours: list[list[int]] = [[] for _ in range(n + 2)]
    edges = list(cell.edges) + [(n, s) for s in cell.sources()] + [(t, n + 1) for t in cell.sinks()]
    for u, v in edges:
        neighbours[u].append(v)
        neighbours[v].append(u)
    return neighbours


def _variance(values: list[int]) -> float:
    """Population variance (ddof 0); plain Python is faster than numpy for eight numbers."""
    mean = sum(values) / len(values)
    return sum((x - mean) ** 2 for x in values) / len(values)


def eccentricity_variance(cell: DagCell) -> float:
    """Population variance of eccentricities in the undirected full graph (input and output included)."""
    neighbours = _full_adjacency(cell)
    eccentricities = []
    for start in range(len(neighbours)):
        depth = {start: 0}
        frontier = [start]
        while frontier:
            nxt = []
            for u in frontier:
                for v in neighbours[u]:
                    if v not in depth:
                        depth[v] = depth[u] + 1
                        nxt.append(v)
            frontier = nxt
        eccentricities.append(max(depth.values()))
    return _variance(eccentricities)


def degree_variance(cell: DagCell) -> float:
    """Population variance of total degrees (in + out) in the full graph (input and output included)."""
    return _variance([len(adj) for adj in _full_adjacency(cell)])


def num_vertices(cell: DagCell) -> float:
    """Number of inner vertices."""
    return float(cell.num_vertices)


def num_edges(cell: DagCell) -> float:
    """Number of inner edges (edges from input and to output are not counted)."""
    return float(len(cell.edges))


def longest_path(cell: DagCell) -> float:
    """Number of edges on the longest path between inner vertices."""
    length = [0] * cell.num_vertices
    for u, v in cell.edges:  # sorted by u, and u < v: a topological sweep
        length[v] = max(length[v], length[u] + 1)
    return float(max(length))


FEATURES: dict[str, FeatureFn] = {
    "eccentricity_var": eccentricity_variance,
    "degree_var": degree_variance,
    "num_vertices": num_vertices,
    "num_edges": num_edges,
    "longest_path": longest_path,
}


def register_feature(name: str, fn: FeatureFn) -> None:
    """Add a named feature function (cell -> float) usable in ``DagSpace(feature_names=...)``."""
    if name in FEATURES:
        raise ValueError(f"feature {name!r} is already registered; registered: {sorted(FEATURES)}")
    FEATURES[name] = fn
