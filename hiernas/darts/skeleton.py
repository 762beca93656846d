"""The DARTS CIFAR macro-architecture that the search network and the evaluation network share, and the
bookkeeping of a cell's edges.

A 3x3 stem with ``stem_multiplier * C`` channels, then ``layers`` cells, the cells at 1/3 and 2/3 of the
depth being reduction cells (stride 2, channels doubled); each cell preprocesses the outputs of the two
previous cells to ``C`` channels, computes ``steps`` intermediate nodes and outputs their concatenation;
global average pooling and a linear head. ``stack_cells`` builds that skeleton around any cell type.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from hiernas.supernet import ARCH_PREFIXES

# make_cell(prev_prev_channels, prev_channels, channels, reduction, reduction_prev) -> (cell, output nodes)
CellFactory = Callable[[int, int, int, bool, bool], tuple[nn.Module, int]]


def num_edges(steps: int) -> int:
    """Edges of a search cell: node i has ``i + 2`` inputs."""
    return sum(i + 2 for i in range(steps))


def edge_index(node: int, source: int) -> int:
    """Position of edge ``source -> node`` (node 0-based among the intermediate nodes) in a search cell."""
    if not 0 <= source < node + 2:
        raise ValueError(f"node {node} has inputs 0..{node + 1}, got {source}")
    return sum(i + 2 for i in range(node)) + source


def reduction_layers(layers: int) -> set[int]:
    """Indices of the reduction cells: at 1/3 and 2/3 of the depth (DARTS)."""
    return {layers // 3, 2 * layers // 3}


def count_parameters(model: nn.Module) -> int:
    """Parameters as the DARTS papers count them: auxiliary head and architecture weights excluded."""
    return sum(
        p.numel()
        for name, p in model.named_parameters()
        if "auxiliary" not in name and not name.startswith(ARCH_PREFIXES)
    )


def stem(in_channels: int, stem_channels: int) -> nn.Sequential:
    """DARTS' stem: a 3x3 convolution to ``stem_channels`` and BatchNorm."""
    return nn.Sequential(nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False), nn.BatchNorm2d(stem_channels))


def stack_cells(
    layers: int, stem_channels: int, channels: int, make_cell: CellFactory
) -> tuple[nn.ModuleList, list[int]]:
    """``layers`` cells after a stem of ``stem_channels``, reductions at 1/3 and 2/3 doubling the channels.

    Returns the cells and each cell's output channels (its output nodes times its channels).
    """
    prev_prev, prev, current = stem_channels, stem_channels, channels
    cells, outputs = nn.ModuleList(), []
    reduction_prev = False
    for i in range(layers):
        reduction = i in reduction_layers(layers)
        if reduction:
            current *= 2
        cell, nodes = make_cell(prev_prev, prev, current, reduction, reduction_prev)
        cells.append(cell)
        reduction_prev = reduction
        prev_prev, prev = prev, nodes * current
        outputs.append(prev)
    return cells, outputs
