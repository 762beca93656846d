"""NAS-Bench-201 cells (the NATS-Bench topology space) and the benchmark's architecture string.

A cell has four nodes: node 0 is the cell input, node 3 the output, and each node is the sum of its
incoming edges; every pair ``j < i`` is joined by one edge carrying one of ``OPS`` (Dong and Yang 2020).
The benchmark names a cell by the string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: one ``|``-delimited
group per node 1..3, listing the operation on the edge from each earlier node ``j`` as ``op~j``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

__all__ = ["EDGES", "OPS", "Nb201Cell", "arch_string", "parse_arch"]

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# (to_node, from_node) in the order of the architecture string.
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
_NODES = 4


@dataclass(frozen=True)
class Nb201Cell:
    """One operation per edge of ``EDGES``, in that order (a list is accepted and stored as a tuple)."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.ops, str) or not isinstance(self.ops, Sequence):
            raise ValueError(f"Nb201Cell ops must be a sequence of {len(EDGES)} operation names, got {self.ops!r}")
        ops = tuple(self.ops)
        object.__setattr__(self, "ops", ops)
        if len(ops) != len(EDGES):
            raise ValueError(f"Nb201Cell needs {len(EDGES)} operations (one per edge), got {len(ops)}: {list(ops)}")
        unknown = [op for op in ops if not isinstance(op, str) or op not in OPS]
        if unknown:
            raise ValueError(f"Nb201Cell: unknown operation(s) {unknown}; valid: {list(OPS)}")

    @property
    def arch_str(self) -> str:
        """The benchmark's architecture string, e.g. ``|nor_conv_3x3~0|+|...|+|...|``."""
        return arch_string(self)


def arch_string(cell: Nb201Cell) -> str:
    """The benchmark's architecture string of ``cell`` (inverse of ``parse_arch``)."""
    groups = []
    for node in range(1, _NODES):
        edges = [f"{op}~{source}" for op, (target, source) in zip(cell.ops, EDGES, strict=True) if target == node]
        groups.append("|" + "|".join(edges) + "|")
    return "+".join(groups)


def parse_arch(text: object) -> Nb201Cell:
    """Decode the benchmark's architecture string (surrounding spaces ignored); ``ValueError`` names the bad part."""

    def fail(problem: str) -> NoReturn:
        raise ValueError(f"bad NAS-Bench-201 architecture {text!r}: {problem}")

    if not isinstance(text, str):
        fail(f"expected a string like {arch_string(Nb201Cell(('skip_connect',) * len(EDGES)))!r}")
    groups = text.strip().split("+")
    if len(groups) != _NODES - 1:
        fail(f"{len(groups)} node group(s) separated by '+', expected {_NODES - 1}")
    ops: list[str] = []
    for node, group in enumerate(groups, start=1):
        if len(group) < 2 or not group.startswith("|") or not group.endswith("|"):
            fail(f"node {node} group {group!r} must start and end with '|'")
        edges = group[1:-1].split("|")
        if len(edges) != node:
            fail(f"node {node} has {len(edges)} edge(s), expected {node}")
        for source, edge in enumerate(edges):
            op, tilde, origin = edge.partition("~")
            if not tilde:
                fail(f"edge {edge!r} of node {node} is not of the form 'operation~node'")
            if op not in OPS:
                fail(f"unknown operation {op!r} in {edge!r} (valid: {', '.join(OPS)})")
            if origin != str(source):
                fail(f"edge {edge!r} of node {node} should come from node {source}")
            ops.append(op)
    return Nb201Cell(tuple(ops))
