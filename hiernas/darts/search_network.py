"""The DARTS search network (cell level): every edge ``j -> i`` of a cell is a ``hiernas.mixed.MixedChoice``
over the 8 primitives, mixed by the architecture weights of its cell type (all normal cells share
``alpha_normal``, all reduction cells ``alpha_reduce``). Method switches: ``mode`` (softmax = DARTS,
gumbel_hard = GDAS), ``channel_fraction`` (PC-DARTS K) and ``edge_norm`` (PC-DARTS beta). The skeleton
around the cells is ``hiernas.darts.skeleton``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hiernas.darts.derive import derive_genotype
from hiernas.darts.ops import FactorizedReduce, ReLUConvBN, make_op
from hiernas.darts.skeleton import ARCH_PREFIXES, edge_index, num_edges, stack_cells, stem
from hiernas.mixed import ChoiceMode, MixedChoice, edge_normalisation, mixing_weights
from spaces.darts import PRIMITIVES, Genotype


def _search_op(name: str, channels: int, stride: int) -> nn.Module:
    op = make_op(name, channels, stride, affine=False)
    if "pool" in name:  # DARTS: parameter-free BatchNorm after pooling, so pools are on the convs' scale
        op = nn.Sequential(op, nn.BatchNorm2d(channels, affine=False))
    return op


class SearchCell(nn.Module):
    """A cell whose every edge mixes all primitives (optionally on ``1/channel_fraction`` of the channels)."""

    def __init__(
        self,
        steps: int,
        prev_prev_channels: int,
        prev_channels: int,
        channels: int,
        reduction: bool,
        reduction_prev: bool,
        channel_fraction: int = 1,
        primitives: Sequence[str] = PRIMITIVES,
    ) -> None:
        super().__init__()
        if channels % channel_fraction:
            raise ValueError(
                f"channels ({channels}) must be divisible by channel_fraction ({channel_fraction})"
            )
        self.reduction = reduction
        self.steps = steps
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(prev_prev_channels, channels, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(prev_prev_channels, channels, 1, 1, 0, affine=False)
        self.preprocess1 = ReLUConvBN(prev_channels, channels, 1, 1, 0, affine=False)
        active = channels // channel_fraction
        self.edges = nn.ModuleList()
        for node in range(steps):
            for source in range(node + 2):
                stride = 2 if reduction and source < 2 else 1
                # PC-DARTS: the bypassed channels of a strided edge are max-pooled to the ops' output size
                bypass = nn.MaxPool2d(2, 2, ceil_mode=True) if stride == 2 and channel_fraction > 1 else None
                ops = [_search_op(name, active, stride) for name in primitives]
                self.edges.append(MixedChoice(ops, channel_fraction=channel_fraction, bypass=bypass))

    def forward(
        self,
        s0: Tensor,
        s1: Tensor,
        weights: Tensor,
        index: Tensor | None = None,
        edge_weights: Tensor | None = None,
    ) -> Tensor:
        """Mix every edge by ``weights`` (E, n_ops); ``index`` (E,) computes one op per edge (GDAS).

        ``edge_weights`` (E,) multiply the edges' outputs (PC-DARTS edge normalisation).
        """
        states = [self.preprocess0(s0), self.preprocess1(s1)]  # 2 x (B, C, H, W)
        offset = 0
        for _node in range(self.steps):
            total: Tensor | None = None
            for source, h in enumerate(states):
                e = offset + source
                out = self.edges[e](h, weights[e], None if index is None else index[e])  # (B, C, H', W')
                if edge_weights is not None:
                    out = edge_weights[e] * out
                total = out if total is None else total + out
            offset += len(states)
            states.append(total)
        return torch.cat(states[2:], dim=1)  # (B, steps * C, H', W')

    def forward_discrete(self, s0: Tensor, s1: Tensor, edges: Sequence[tuple[int, int]]) -> Tensor:
        """One discrete cell on the shared weights: ``edges[2i], edges[2i+1]`` = (op, source) of node i."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        one = s1.new_ones(())
        for node in range(self.steps):
            total: Tensor | None = None
            for op, source in edges[2 * node : 2 * node + 2]:
                mixed = cast(MixedChoice, self.edges[edge_index(node, source)])
                weights = one.expand(len(mixed))  # (n_ops,) of ones: weight 1 for the chosen op
                out = mixed(states[source], weights, op)
                total = out if total is None else total + out
            states.append(total)
        return torch.cat(states[2:], dim=1)


class SearchNetwork(nn.Module):
    """The DARTS supernet; satisfies ``hiernas.bilevel.SearchModel``.

    Args:
        in_channels, num_classes: of the data (any image size works).
        channels: initial channels C (DARTS search: 16). layers: cells (8). steps: nodes per cell (4).
        mode: ``softmax`` (DARTS, PC-DARTS) or ``gumbel_hard`` (GDAS; ``temperature`` set per epoch).
        channel_fraction: PC-DARTS K (1 = all channels). edge_norm: PC-DARTS edge normalisation beta.
        init_scale: architecture weights start at ``init_scale * N(0, 1)`` (DARTS: 1e-3).
        generator: source of the initial architecture weights (the module weights use torch's default).
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        channels: int = 16,
        layers: int = 8,
        steps: int = 4,
        stem_multiplier: int = 3,
        mode: ChoiceMode | str = ChoiceMode.SOFTMAX,
        channel_fraction: int = 1,
        edge_norm: bool = False,
        temperature: float = 1.0,
        primitives: Sequence[str] = PRIMITIVES,
        init_scale: float = 1e-3,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if layers < 1 or steps < 1 or channels < 1:
            raise ValueError(f"layers, steps and channels must be >= 1, got {layers}, {steps}, {channels}")
        self.mode = ChoiceMode(mode)
        self.temperature = temperature
        self.steps = steps
        self.primitives = tuple(primitives)
        self.channel_fraction = channel_fraction
        stem_channels = stem_multiplier * channels
        self.stem = stem(in_channels, stem_channels)

        def make_cell(pp: int, p: int, c: int, reduction: bool, reduction_prev: bool) -> tuple[nn.Module, int]:
            return SearchCell(steps, pp, p, c, reduction, reduction_prev, channel_fraction, primitives), steps

        self.cells, outputs = stack_cells(layers, stem_channels, channels, make_cell)
        self.classifier = nn.Linear(outputs[-1], num_classes)
        edges, ops = num_edges(steps), len(self.primitives)
        self.alpha_normal = nn.Parameter(
            init_scale * torch.randn(edges, ops, generator=generator)
        )  # (E, n_ops)
        self.alpha_reduce = nn.Parameter(init_scale * torch.randn(edges, ops, generator=generator))
        self.edge_norm = edge_norm
        if edge_norm:
            self.beta_normal = nn.Parameter(init_scale * torch.randn(edges, generator=generator))  # (E,)
            self.beta_reduce = nn.Parameter(init_scale * torch.randn(edges, generator=generator))

    def arch_parameters(self) -> list[nn.Parameter]:
        params = [self.alpha_normal, self.alpha_reduce]
        if self.edge_norm:
            params += [self.beta_normal, self.beta_reduce]
        return params

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if not name.startswith(ARCH_PREFIXES)]

    def arch_penalty(self, step: int, total_steps: int) -> Tensor | float:
        return 0.0

    def edge_weights(self, cell_type: str) -> Tensor | None:
        """PC-DARTS: softmax of beta over each node's incoming edges, concatenated (E,); None when off."""
        if not self.edge_norm:
            return None
        beta = self.beta_normal if cell_type == "normal" else self.beta_reduce
        parts, offset = [], 0
        for node in range(self.steps):
            parts.append(edge_normalisation(beta[offset : offset + node + 2]))
            offset += node + 2
        return torch.cat(parts)

    def forward(self, x: Tensor) -> Tensor:
        mix = {
            "normal": mixing_weights(self.alpha_normal, self.mode, self.temperature),
            "reduce": mixing_weights(self.alpha_reduce, self.mode, self.temperature),
        }
        edge = {"normal": self.edge_weights("normal"), "reduce": self.edge_weights("reduce")}
        s0 = s1 = self.stem(x)  # (B, 3C, H, W)
        for cell in self.cells:
            kind = "reduce" if cell.reduction else "normal"
            s0, s1 = s1, cell(s0, s1, mix[kind].weights, mix[kind].index, edge[kind])
        return self.classifier(F.adaptive_avg_pool2d(s1, 1).flatten(1))  # (B, num_classes)

    def forward_genotype(self, x: Tensor, genotype: Genotype) -> Tensor:
        """Logits of the discrete ``genotype`` with the shared weights (DARTS-PD paths); alpha unused."""
        if genotype.steps != self.steps:
            raise ValueError(f"genotype has {genotype.steps} nodes per cell, the network has {self.steps}")
        cells = {
            kind: [(self.primitives.index(op), source) for op, source in genotype.cell(kind)]
            for kind in ("normal", "reduce")
        }
        s0 = s1 = self.stem(x)
        for cell in cast(list[SearchCell], self.cells):
            s0, s1 = s1, cell.forward_discrete(s0, s1, cells["reduce" if cell.reduction else "normal"])
        return self.classifier(F.adaptive_avg_pool2d(s1, 1).flatten(1))

    def arch_weights(self) -> dict[str, Tensor]:
        """Softmaxed alpha per cell type (E, n_ops), with PC-DARTS edge weights multiplied in when on."""
        out = {}
        for kind, alpha in (("normal", self.alpha_normal), ("reduce", self.alpha_reduce)):
            weights = F.softmax(alpha.detach(), dim=-1)
            edge = self.edge_weights(kind)
            out[kind] = weights if edge is None else weights * edge.detach().unsqueeze(-1)
        return out

    def genotype(self) -> Genotype:
        """DARTS derivation: two strongest incoming edges per node, strongest non-``none`` op each."""
        weights = self.arch_weights()
        return derive_genotype(
            weights["normal"].cpu().numpy(), weights["reduce"].cpu().numpy(), self.steps, self.primitives
        )
