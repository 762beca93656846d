"""The NAS-Bench-201 network of one discrete cell (the benchmark's ``TinyNetwork``), e.g. for an architecture
a search derived, and its size."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hiernas.darts.skeleton import count_parameters
from hiernas.nb201.ops import make_nb201_op
from hiernas.nb201.skeleton import Nb201Skeleton, cell_sum
from spaces.nb201 import Nb201Cell


class DiscreteCell(nn.Module):
    """One operation per edge, as ``cell.ops`` names them (``none`` edges add zeros, as the benchmark's do)."""

    def __init__(self, cell: Nb201Cell, channels: int, affine: bool = True) -> None:
        super().__init__()
        self.cell = cell
        self.edges = nn.ModuleList(make_nb201_op(op, channels, affine) for op in cell.ops)

    def forward(self, x: Tensor) -> Tensor:
        return cell_sum(x, lambda e, h: self.edges[e](h))  # (B, C, H, W)


class Nb201Network(Nb201Skeleton):
    """The benchmark's network: ``cell`` repeated in every position of the skeleton (C=16, N=5 by default)."""

    def __init__(
        self, cell: Nb201Cell, in_channels: int, num_classes: int, channels: int = 16, cells_per_stage: int = 5
    ) -> None:
        super().__init__(in_channels, num_classes, channels, cells_per_stage, lambda c: DiscreteCell(cell, c))
        self.cell = cell

    def forward(self, x: Tensor) -> Tensor:
        return self.run(x, lambda block, h: block(h))


def nb201_size(cell: Nb201Cell, in_channels: int, num_classes: int, channels: int = 16,
               cells_per_stage: int = 5) -> int:
    """Parameters of ``cell``'s network, built on the meta device (nothing allocated)."""
    with torch.device("meta"):
        return count_parameters(Nb201Network(cell, in_channels, num_classes, channels, cells_per_stage))
