"""A DAG cell description becomes an ``nn.Module`` (FaDE section 2.4, "Search Space").

The input vertex feeds every source vertex unchanged; every other edge, including the edges from sinks
into the output vertex, carries a structurally identical convolution (conv k x k -> BatchNorm -> ReLU).
A vertex with more than one incoming edge sums its inputs and applies ReLU. Channels are fixed inside
the cell; a 1x1 projection at the input vertex adapts the previous row's channels when they differ.

Cells of different sizes can be given the same number of weights, as FaDE 3.1 did (about 0.25 M per
DAG): ``equal_param_width`` widens a cell of few convolutions and narrows one of many, and a 1x1
projection at the output vertex returns to the row's channels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from spaces.dag import DagCell, cell_from_json

OUTPUT = "out"


def edge_key(source: int, target: int | str) -> str:
    """The name of the edge slot ``source -> target`` (``target`` is a vertex index or ``"out"``)."""
    return f"{source}->{target}"


def conv_edge(channels: int, kernel_size: int, batch_norm: bool = True) -> nn.Module:
    """The convolution placed on every inner edge: same padding, so the feature map keeps its size."""
    layers: list[nn.Module] = [
        nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, bias=not batch_norm)
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(channels))
    layers.append(nn.ReLU(inplace=False))
    return nn.Sequential(*layers)


def projection(in_channels: int, out_channels: int) -> nn.Module:
    """1x1 convolution adapting channels at a cell's input vertex (identity when they match)."""
    if in_channels == out_channels:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU()
    )


def equal_param_width(cell: DagCell, channels: int, reference_convs: int) -> int:
    """The inner width at which ``cell``'s convolutions hold about as many weights as ``reference_convs``
    convolutions of ``channels`` channels (weights grow with convolutions x width squared)."""
    convs = len(cell_edge_slots(cell))
    return max(1, round(channels * (reference_convs / convs) ** 0.5))


def cell_edge_slots(cell: DagCell) -> list[tuple[int, int | str]]:
    """The convolution-carrying edges of ``cell``: inner edges and sink -> output edges."""
    out_degree = {v: 0 for v in range(cell.num_vertices)}
    for u, _ in cell.edges:
        out_degree[u] += 1
    slots: list[tuple[int, int | str]] = [(u, v) for u, v in cell.edges]
    slots += [(v, OUTPUT) for v in range(cell.num_vertices) if out_degree[v] == 0]
    return slots


class DagCellModule(nn.Module):
    """One DAG cell with ``channels`` channels inside.

    Args:
        cell: the DAG (inner vertices in topological order).
        in_channels: channels arriving at the input vertex.
        channels: channels inside the cell.
        make_edge: builds the module of an edge slot; a row with shared weights passes a lookup
            into its shared bank instead of a constructor.
        make_projection: builds the input projection (shared per row when weights are shared).
        inner_channels: channels inside the cell when they differ from the output's ``channels``
            (equal parameter counts); a 1x1 projection at the output vertex returns to ``channels``.
    """

    def __init__(
        self,
        cell: DagCell,
        in_channels: int,
        channels: int,
        kernel_size: int = 5,
        batch_norm: bool = True,
        make_edge: Callable[[int, int | str], nn.Module] | None = None,
        make_projection: Callable[[], nn.Module] | None = None,
        inner_channels: int | None = None,
    ) -> None:
        super().__init__()
        inner = channels if inner_channels is None else inner_channels
        if inner != channels and (make_edge is not None or make_projection is not None):
            raise ValueError("a cell with its own inner width cannot use a row's shared convolutions")
        self.cell = cell
        self.channels = channels
        self.input_projection = make_projection() if make_projection else projection(in_channels, inner)
        self.output_projection = projection(inner, channels)
        slots = cell_edge_slots(cell)
        build = make_edge or (lambda _u, _v: conv_edge(inner, kernel_size, batch_norm))
        self.edges = nn.ModuleDict({edge_key(u, v): build(u, v) for u, v in slots})
        self._incoming: dict[int | str, list[int]] = {v: [] for v in range(cell.num_vertices)}
        self._incoming[OUTPUT] = []
        for u, v in slots:
            self._incoming[v].append(u)

    def forward(self, x: Tensor) -> Tensor:
        x = self.input_projection(x)  # (B, C, H, W)
        states: dict[int, Tensor] = {}
        for v in range(self.cell.num_vertices):
            sources = self._incoming[v]
            if not sources:
                states[v] = x  # a source vertex receives the input unchanged
                continue
            states[v] = self._combine([self.edges[edge_key(u, v)](states[u]) for u in sources])
        out = self._combine([self.edges[edge_key(u, OUTPUT)](states[u]) for u in self._incoming[OUTPUT]])
        return self.output_projection(out)

    @staticmethod
    def _combine(inputs: Sequence[Tensor]) -> Tensor:
        if len(inputs) == 1:
            return inputs[0]
        total = inputs[0]
        for t in inputs[1:]:
            total = total + t
        return total.relu()


def build_cell(
    obj: DagCell | Mapping[str, Any], in_channels: int, channels: int, kernel_size: int = 5, **kwargs: Any
) -> DagCellModule:
    """Build a cell module from a ``DagCell`` or its JSON form."""
    cell = obj if isinstance(obj, DagCell) else cell_from_json(obj)
    return DagCellModule(cell, in_channels, channels, kernel_size, **kwargs)
