"""The DARTS search network (cell level): every edge ``j -> i`` of a cell is a ``hiernas.mixed.MixedChoice``
over the 8 primitives, mixed by the architecture weights of its cell type (all normal cells share
``alpha_normal``, all reduction cells ``alpha_reduce``). Method switches: ``mode`` (softmax = DARTS,
gumbel_hard = GDAS, binary = ProxylessNAS, dropout = DropNAS, sample = PARSEC), ``channel_fraction``
(PC-DARTS K), ``edge_norm`` (PC-DARTS beta), ``merge`` (MergeNAS), ``edge_primitives`` and
``skip_dropout`` (P-DARTS' pruned operation sets and skip dropout); ``hiernas.supernet`` holds what the two
spaces' supernets share. The skeleton around the cells is ``hiernas.darts.skeleton``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hiernas.darts.derive import derive_genotype
from hiernas.darts.ops import FactorizedReduce, ReLUConvBN, make_op
from hiernas.darts.skeleton import edge_index, num_edges, stack_cells, stem
from hiernas.merged import DARTS_CONVS
from hiernas.mixed import ChoiceMode, MixedChoice, edge_normalisation
from hiernas.supernet import ChoiceMixin, drop_probabilities, full_width, make_edge
from spaces.darts import PRIMITIVES, Genotype

CELL_TYPES = ("normal", "reduce")
EdgePrimitives = Mapping[str, Sequence[Sequence[str]]]  # cell type -> per edge, its operations


def _search_op(name: str, channels: int, stride: int) -> nn.Module:
    op = make_op(name, channels, stride, affine=False)
    if "pool" in name:  # DARTS: parameter-free BatchNorm after pooling, so pools are on the convs' scale
        op = nn.Sequential(op, nn.BatchNorm2d(channels, affine=False))
    return op


class SearchCell(nn.Module):
    """A cell whose every edge mixes its operations (optionally on ``1/channel_fraction`` of the channels).

    ``edge_primitives[e]`` are edge ``e``'s operations (P-DARTS prunes them per edge); ``merge`` merges
    each edge's convolutions (MergeNAS); ``skip_dropout`` puts a dropout after skip connections (P-DARTS).
    """

    def __init__(
        self,
        steps: int,
        prev_prev_channels: int,
        prev_channels: int,
        channels: int,
        reduction: bool,
        reduction_prev: bool,
        channel_fraction: int = 1,
        edge_primitives: Sequence[Sequence[str]] | None = None,
        merge: bool = False,
        skip_dropout: bool = False,
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
        if edge_primitives is None:
            edge_primitives = [PRIMITIVES] * num_edges(steps)
        self.edges = nn.ModuleList()
        for node in range(steps):
            for source in range(node + 2):
                stride = 2 if reduction and source < 2 else 1
                # PC-DARTS: the bypassed channels of a strided edge are max-pooled to the ops' output size
                bypass = nn.MaxPool2d(2, 2, ceil_mode=True) if stride == 2 and channel_fraction > 1 else None
                self.edges.append(make_edge(
                    edge_primitives[edge_index(node, source)],
                    lambda name, s=stride: _search_op(name, active, s),  # type: ignore[misc]
                    active,
                    stride,
                    merge_convs=DARTS_CONVS if merge else None,
                    channel_fraction=channel_fraction,
                    bypass=bypass,
                    skip_dropout=skip_dropout,
                ))

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


class SearchNetwork(ChoiceMixin, nn.Module):
    """The DARTS supernet; satisfies ``hiernas.bilevel.SearchModel``.

    Args:
        in_channels, num_classes: of the data (any image size works).
        channels: initial channels C (DARTS search: 16). layers: cells (8). steps: nodes per cell (4).
        mode: a ``ChoiceMode`` (softmax: DARTS, PC-DARTS; gumbel_hard: GDAS, ``temperature`` set per epoch).
        channel_fraction: PC-DARTS K (1 = all channels). edge_norm: PC-DARTS edge normalisation beta.
        edge_primitives: per cell type and edge, its operations (all edges of a type the same number);
            None: every edge has all ``primitives``. alpha then has one column per operation of the edge.
        drop_prob: DropNAS' drop probability per operation name (``mode="dropout"``).
        merge: MergeNAS' merged convolutions. skip_dropout: P-DARTS' dropout after skip connections.
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
        edge_primitives: EdgePrimitives | None = None,
        drop_prob: Mapping[str, float] | None = None,
        merge: bool = False,
        skip_dropout: bool = False,
    ) -> None:
        super().__init__()
        if layers < 1 or steps < 1 or channels < 1:
            raise ValueError(f"layers, steps and channels must be >= 1, got {layers}, {steps}, {channels}")
        self.mode = ChoiceMode(mode)
        self.temperature = temperature
        self.steps = steps
        self.primitives = tuple(primitives)
        self.channel_fraction = channel_fraction
        edges = num_edges(steps)
        self.edge_primitives = {
            kind: tuple(tuple(ops) for ops in (edge_primitives or {}).get(kind, [self.primitives] * edges))
            for kind in CELL_TYPES
        }
        widths = {len(ops) for kind in CELL_TYPES for ops in self.edge_primitives[kind]}
        if len(widths) != 1 or any(len(self.edge_primitives[k]) != edges for k in CELL_TYPES):
            raise ValueError(f"edge_primitives needs {edges} edges per cell type with equally many operations each")
        if drop_prob is not None and edge_primitives is not None:
            raise ValueError("DropNAS' drop probabilities need every edge to have all primitives")
        self.drop_prob = drop_probabilities(self.primitives, drop_prob)
        stem_channels = stem_multiplier * channels
        self.stem = stem(in_channels, stem_channels)

        def make_cell(pp: int, p: int, c: int, reduction: bool, reduction_prev: bool) -> tuple[nn.Module, int]:
            ops = self.edge_primitives["reduce" if reduction else "normal"]
            cell = SearchCell(steps, pp, p, c, reduction, reduction_prev, channel_fraction, ops, merge, skip_dropout)
            return cell, steps

        self.cells, outputs = stack_cells(layers, stem_channels, channels, make_cell)
        self.classifier = nn.Linear(outputs[-1], num_classes)
        width = widths.pop()
        self.alpha_normal = nn.Parameter(init_scale * torch.randn(edges, width, generator=generator))  # (E, n_ops)
        self.alpha_reduce = nn.Parameter(init_scale * torch.randn(edges, width, generator=generator))
        self.edge_norm = edge_norm
        if edge_norm:
            self.beta_normal = nn.Parameter(init_scale * torch.randn(edges, generator=generator))  # (E,)
            self.beta_reduce = nn.Parameter(init_scale * torch.randn(edges, generator=generator))

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
        mix = {kind: self.mix(f"alpha_{kind}", getattr(self, f"alpha_{kind}")) for kind in CELL_TYPES}
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
            kind: [
                (self._op_index(kind, edge_index(i // 2, source), op), source)
                for i, (op, source) in enumerate(genotype.cell(kind))
            ]
            for kind in CELL_TYPES
        }
        s0 = s1 = self.stem(x)
        for cell in cast(list[SearchCell], self.cells):
            s0, s1 = s1, cell.forward_discrete(s0, s1, cells["reduce" if cell.reduction else "normal"])
        return self.classifier(F.adaptive_avg_pool2d(s1, 1).flatten(1))

    def _op_index(self, kind: str, edge: int, op: str) -> int:
        """The column of operation ``op`` in edge ``edge``'s alpha (its position among the edge's ops)."""
        ops = self.edge_primitives[kind][edge]
        if op not in ops:
            raise ValueError(f"operation {op!r} is not among edge {edge}'s operations {list(ops)} ({kind} cell)")
        return ops.index(op)

    def arch_weights(self) -> dict[str, Tensor]:
        """Softmaxed alpha per cell type (E, n_primitives), with PC-DARTS edge weights multiplied in when on.

        With pruned edges (P-DARTS) every edge's weights are placed in its operations' columns of
        ``primitives`` and the pruned operations get 0.
        """
        out = {}
        for kind, alpha in (("normal", self.alpha_normal), ("reduce", self.alpha_reduce)):
            weights = F.softmax(alpha.detach(), dim=-1)
            edge = self.edge_weights(kind)
            weights = weights if edge is None else weights * edge.detach().unsqueeze(-1)
            out[kind] = full_width(weights, self.edge_primitives[kind], self.primitives)
        return out

    def genotype(self) -> Genotype:
        """DARTS derivation: two strongest incoming edges per node, strongest non-``none`` op each."""
        weights = self.arch_weights()
        return derive_genotype(
            weights["normal"].cpu().numpy(), weights["reduce"].cpu().numpy(), self.steps, self.primitives
        )
