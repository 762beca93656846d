"""Features of NAS-Bench-201 cells and their registry ``FEATURES`` (raw values; ``Nb201Space`` normalises).

A cell is four nodes (0 the input, 3 the output) and six edges, each carrying one of ``OPS``. A *path* is
one of the four input-to-output routes (0-3, 0-1-3, 0-2-3, 0-1-2-3); it is *live* when none of its edges
is ``none`` (a ``none`` edge outputs zeros, so nothing flows through it). An edge is live when it lies on
a live path: an edge that is not feeds only a dead end and cannot change the cell's output. A cell whose
paths are all dead outputs zeros; every live-path feature is then 0. The raw ranges over the space:

- ``count_<op>`` (each op of ``OPS``): edges carrying ``op``, 0..6.
- ``live_<op>`` (each op but ``none``): live edges carrying ``op``, 0..6.
- ``conv_depth``: convolutions on the live path with the most of them, 0..3.
- ``depth``: edges on the longest live path, 0..3.
- ``live_paths``: number of live paths, 0..4.
- ``live_param_free``: live ``skip_connect`` and ``avg_pool_3x3`` edges, 0..6.
"""

from __future__ import annotations

from collections.abc import Callable

from spaces.nb201_cell import EDGES, OPS, Nb201Cell

__all__ = ["CONVOLUTIONS", "DEFAULT_FEATURES", "FEATURES", "FeatureFn", "PATHS", "live_paths", "register_feature"]

CONVOLUTIONS = frozenset({"nor_conv_1x1", "nor_conv_3x3"})
PARAMETER_FREE = frozenset({"skip_connect", "avg_pool_3x3"})


def _paths(node: int) -> list[tuple[int, ...]]:
    """Every route from node 0 to ``node`` as tuples of edge positions (in ``EDGES`` order)."""
    if node == 0:
        return [()]
    routes: list[tuple[int, ...]] = []
    for position, (target, source) in enumerate(EDGES):
        if target == node:
            routes += [(*route, position) for route in _paths(source)]
    return routes


PATHS: tuple[tuple[int, ...], ...] = tuple(_paths(3))  # ((3,), (0, 4), (1, 5), (0, 2, 5))

FeatureFn = Callable[[Nb201Cell], float]


def live_paths(cell: Nb201Cell) -> list[tuple[int, ...]]:
    """The input-to-output paths (edge positions) without a ``none`` edge."""
    return [path for path in PATHS if all(cell.ops[p] != "none" for p in path)]


def _live_ops(cell: Nb201Cell) -> list[str]:
    """The operations of the live edges (each edge once)."""
    return [cell.ops[p] for p in sorted({p for path in live_paths(cell) for p in path})]


def _count(op: str) -> FeatureFn:
    def feature(cell: Nb201Cell) -> float:
        return float(cell.ops.count(op))

    feature.__doc__ = f"Edges carrying {op}."
    return feature


def _live_count(op: str) -> FeatureFn:
    def feature(cell: Nb201Cell) -> float:
        return float(_live_ops(cell).count(op))

    feature.__doc__ = f"Live edges carrying {op}."
    return feature


def conv_depth(cell: Nb201Cell) -> float:
    """Convolutions on the live path with the most of them (0 when no path is live)."""
    return float(max((sum(cell.ops[p] in CONVOLUTIONS for p in path) for path in live_paths(cell)), default=0))


def depth(cell: Nb201Cell) -> float:
    """Edges on the longest live path (0 when no path is live)."""
    return float(max((len(path) for path in live_paths(cell)), default=0))


def num_live_paths(cell: Nb201Cell) -> float:
    """Number of input-to-output paths without a ``none`` edge."""
    return float(len(live_paths(cell)))


def live_param_free(cell: Nb201Cell) -> float:
    """Live edges carrying a parameter-free operation (skip or pooling)."""
    return float(sum(op in PARAMETER_FREE for op in _live_ops(cell)))


FEATURES: dict[str, FeatureFn] = {
    **{f"count_{op}": _count(op) for op in OPS},
    **{f"live_{op}": _live_count(op) for op in OPS[1:]},
    "conv_depth": conv_depth,
    "depth": depth,
    "live_paths": num_live_paths,
    "live_param_free": live_param_free,
}

# What the cell computes with (op counts) and how it is wired (conv depth, live paths, live free ops).
DEFAULT_FEATURES: tuple[str, ...] = (
    *(f"count_{op}" for op in OPS),
    "conv_depth",
    "live_paths",
    "live_param_free",
)


def register_feature(name: str, fn: FeatureFn) -> None:
    """Add a named feature function (cell -> float) usable in ``Nb201Space(feature_names=...)``."""
    if name in FEATURES:
        raise ValueError(f"feature {name!r} is already registered; registered: {sorted(FEATURES)}")
    FEATURES[name] = fn
