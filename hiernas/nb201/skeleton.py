"""The NAS-Bench-201 macro skeleton that the benchmark network and the search network share, and the
node sums of a cell.

A 3x3 stem convolution to ``C`` channels with BatchNorm; three stages of ``N`` cells with ``C``, ``2C`` and
``4C`` channels, a ``ResidualReduction`` between two stages; then BatchNorm, ReLU, global average pooling
and a linear classifier. A cell has one input (node 0); node ``j`` is the sum over ``i < j`` of the
operation on edge ``j <- i``, and node 3 is the output.
"""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

from hiernas.darts.skeleton import stem
from hiernas.nb201.ops import ResidualReduction
from spaces.nb201 import EDGES

NODES = 4
# indices into EDGES of the edges into node 1, 2 and 3
NODE_EDGES: tuple[tuple[int, ...], ...] = tuple(
    tuple(e for e, (target, _) in enumerate(EDGES) if target == node) for node in range(1, NODES)
)
STAGES = 3
# edge_fn(edge index into EDGES, the source node's tensor) -> the edge's output
EdgeFn = Callable[[int, Tensor], Tensor]
# cell_fn(cell module, input) -> output: how a network runs its cells (discrete, mixed, one path)
CellFn = Callable[[nn.Module, Tensor], Tensor]


def cell_sum(x: Tensor, edge_fn: EdgeFn) -> Tensor:
    """Node 3 of a cell on input ``x``: each node the sum of its incoming edges, in ``EDGES`` order."""
    nodes = [x]  # node 0: (B, C, H, W)
    for edges in NODE_EDGES:
        total = edge_fn(edges[0], nodes[EDGES[edges[0]][1]])
        for e in edges[1:]:
            total = total + edge_fn(e, nodes[EDGES[e][1]])
        nodes.append(total)
    return nodes[-1]


def stage_plan(channels: int, cells_per_stage: int) -> list[tuple[int, bool]]:
    """(channels, is_reduction) of every block after the stem: N cells, reduction, N cells, reduction, N cells."""
    plan: list[tuple[int, bool]] = []
    for stage in range(STAGES):
        width = channels * 2**stage
        if stage:
            plan.append((width, True))
        plan += [(width, False)] * cells_per_stage
    return plan


class Nb201Skeleton(nn.Module):
    """Stem, ``3 N`` cells with two reductions, BatchNorm + ReLU, pooling, classifier.

    Args:
        in_channels, num_classes: of the data (digits 1 x 8 x 8, CIFAR 3 x 32 x 32; any size works).
        channels: C of the first stage (the benchmark: 16). cells_per_stage: N (the benchmark: 5).
        make_cell: builds a cell on a given number of channels (a discrete or a search cell).
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        channels: int,
        cells_per_stage: int,
        make_cell: Callable[[int], nn.Module],
    ) -> None:
        super().__init__()
        if channels < 1 or cells_per_stage < 1:
            raise ValueError(f"channels and cells_per_stage must be >= 1, got {channels}, {cells_per_stage}")
        self.stem = stem(in_channels, channels)
        self.cells = nn.ModuleList()
        previous = channels
        for width, reduction in stage_plan(channels, cells_per_stage):
            self.cells.append(ResidualReduction(previous, width) if reduction else make_cell(width))
            previous = width
        self.lastact = nn.Sequential(nn.BatchNorm2d(previous), nn.ReLU(inplace=False))
        self.classifier = nn.Linear(previous, num_classes)

    def run(self, x: Tensor, cell_fn: CellFn) -> Tensor:
        """Logits of ``x`` with every cell computed by ``cell_fn`` (the reductions run themselves)."""
        h = self.stem(x)  # (B, C, H, W)
        for block in self.cells:
            h = block(h) if isinstance(block, ResidualReduction) else cell_fn(block, h)
        h = self.lastact(h)  # (B, 4C, H/4, W/4)
        return self.classifier(F.adaptive_avg_pool2d(h, 1).flatten(1))  # (B, num_classes)
