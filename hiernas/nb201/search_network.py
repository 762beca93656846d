"""The NAS-Bench-201 search network: every edge of a cell is a ``hiernas.mixed.MixedChoice`` over the five
operations, mixed by one architecture weight tensor ``alpha_cell`` of shape ``(6, 5)`` that all cells share.

It offers ``hiernas.darts.search`` what ``hiernas.darts.search_network.SearchNetwork`` does, so every method
runs on it: ``mode`` (softmax = DARTS first and second order; gumbel_hard = GDAS, one operation computed
per edge), ``channel_fraction`` (PC-DARTS K, channel shuffle after each edge) and ``edge_norm`` (PC-DARTS
edge normalisation ``beta_cell``: a softmax over each node's incoming edges), the sampling modes of
ProxylessNAS, DropNAS and PARSEC, ``merge`` (MergeNAS) and ``edge_ops``/``skip_dropout`` (P-DARTS);
``forward_genotype`` runs one discrete cell on the shared weights (DARTS-PD's path-wise training) and
``genotype`` derives the cell.
Search operations have no BatchNorm affine parameters (as in DARTS and the NAS-Bench-201 searches); the
stem, the reductions and the head keep theirs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hiernas.merged import NB201_CONVS
from hiernas.mixed import ChoiceMode, MixedChoice, edge_normalisation
from hiernas.nb201.derive import derive_cell
from hiernas.nb201.ops import make_nb201_op
from hiernas.nb201.skeleton import NODE_EDGES, Nb201Skeleton, cell_sum
from hiernas.supernet import ChoiceMixin, drop_probabilities, full_width, make_edge
from spaces.nb201 import EDGES, OPS, Nb201Cell


class SearchCell(nn.Module):
    """A cell whose six edges each mix their operations (on ``1/channel_fraction`` of the channels).

    ``edge_ops[e]``: edge ``e``'s operations (P-DARTS prunes them; default all five); ``merge``: MergeNAS'
    merged convolutions; ``skip_dropout``: P-DARTS' dropout after skip connections.
    """

    def __init__(
        self,
        channels: int,
        channel_fraction: int = 1,
        edge_ops: Sequence[Sequence[str]] | None = None,
        merge: bool = False,
        skip_dropout: bool = False,
    ) -> None:
        super().__init__()
        if channels % channel_fraction:
            raise ValueError(f"channels ({channels}) must be divisible by channel_fraction ({channel_fraction})")
        active = channels // channel_fraction
        self.edges = nn.ModuleList(
            make_edge(
                ops,
                lambda name: make_nb201_op(name, active, affine=False),
                active,
                1,
                merge_convs=NB201_CONVS if merge else None,
                separable=False,
                channel_fraction=channel_fraction,
                skip_dropout=skip_dropout,
            )
            for ops in (edge_ops or [OPS] * len(EDGES))
        )

    def forward(
        self, x: Tensor, weights: Tensor, index: Tensor | None = None, edge_weights: Tensor | None = None
    ) -> Tensor:
        """Mix every edge by ``weights`` (6, 5); ``index`` (6,) computes one operation per edge (GDAS).

        ``edge_weights`` (6,) multiply the edges' outputs (PC-DARTS edge normalisation).
        """

        def edge(e: int, h: Tensor) -> Tensor:
            out = self.edges[e](h, weights[e], None if index is None else index[e])  # (B, C, H, W)
            return out if edge_weights is None else edge_weights[e] * out

        return cell_sum(x, edge)

    def forward_discrete(self, x: Tensor, choices: Sequence[int]) -> Tensor:
        """The discrete cell with operation ``choices[e]`` (an index into ``OPS``) on edge ``e``, shared weights."""
        one = x.new_ones(())

        def edge(e: int, h: Tensor) -> Tensor:
            mixed = cast(MixedChoice, self.edges[e])
            return mixed(h, one.expand(len(mixed)), choices[e])

        return cell_sum(x, edge)


class Nb201SearchNetwork(ChoiceMixin, Nb201Skeleton):
    """The NAS-Bench-201 supernet; satisfies ``hiernas.bilevel.SearchModel``.

    Args:
        in_channels, num_classes: of the data (any image size works).
        channels: C of the first stage (the benchmark: 16). cells_per_stage: N (the benchmark: 5).
        mode: a ``ChoiceMode`` (softmax: DARTS, PC-DARTS; gumbel_hard: GDAS, ``temperature`` set per epoch).
        channel_fraction: PC-DARTS K (1 = all channels). edge_norm: PC-DARTS edge normalisation beta.
        init_scale: architecture weights start at ``init_scale * N(0, 1)`` (DARTS: 1e-3).
        generator: source of the initial architecture weights (the module weights use torch's default).
        edge_ops: per edge its operations (P-DARTS; all edges equally many), default all five.
        drop_prob: DropNAS' drop probability per operation name. merge: MergeNAS. skip_dropout: P-DARTS.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        channels: int = 16,
        cells_per_stage: int = 5,
        mode: ChoiceMode | str = ChoiceMode.SOFTMAX,
        channel_fraction: int = 1,
        edge_norm: bool = False,
        temperature: float = 1.0,
        init_scale: float = 1e-3,
        generator: torch.Generator | None = None,
        edge_ops: Sequence[Sequence[str]] | None = None,
        drop_prob: Mapping[str, float] | None = None,
        merge: bool = False,
        skip_dropout: bool = False,
    ) -> None:
        self.edge_ops = tuple(tuple(ops) for ops in (edge_ops or [OPS] * len(EDGES)))
        widths = {len(ops) for ops in self.edge_ops}
        if len(self.edge_ops) != len(EDGES) or len(widths) != 1:
            raise ValueError(f"edge_ops needs {len(EDGES)} edges with equally many operations each")
        if drop_prob is not None and edge_ops is not None:
            raise ValueError("DropNAS' drop probabilities need every edge to have all five operations")
        super().__init__(
            in_channels,
            num_classes,
            channels,
            cells_per_stage,
            lambda c: SearchCell(c, channel_fraction, self.edge_ops, merge, skip_dropout),
        )
        self.mode = ChoiceMode(mode)
        self.temperature = temperature
        self.primitives = OPS
        self.channel_fraction = channel_fraction
        self.drop_prob = drop_probabilities(OPS, drop_prob)
        width = widths.pop()
        self.alpha_cell = nn.Parameter(init_scale * torch.randn(len(EDGES), width, generator=generator))  # (6, k)
        self.edge_norm = edge_norm
        if edge_norm:
            self.beta_cell = nn.Parameter(init_scale * torch.randn(len(EDGES), generator=generator))  # (6,)

    def edge_weights(self) -> Tensor | None:
        """PC-DARTS: softmax of beta over each node's incoming edges, in ``EDGES`` order (6,); None when off."""
        if not self.edge_norm:
            return None
        # EDGES lists the edges node by node, so the per-node parts concatenate in EDGES order
        return torch.cat([edge_normalisation(self.beta_cell[list(edges)]) for edges in NODE_EDGES])

    def forward(self, x: Tensor) -> Tensor:
        mix = self.mix("alpha_cell", self.alpha_cell)  # one sample for all cells (GDAS)
        edge_weights = self.edge_weights()
        return self.run(x, lambda cell, h: cell(h, mix.weights, mix.index, edge_weights))

    def forward_genotype(self, x: Tensor, genotype: Nb201Cell) -> Tensor:
        """Logits of the discrete cell ``genotype`` on the shared weights (DARTS-PD paths); alpha unused."""
        for e, (op, ops) in enumerate(zip(genotype.ops, self.edge_ops, strict=True)):
            if op not in ops:
                raise ValueError(f"operation {op!r} is not among edge {e}'s operations {list(ops)}")
        choices = [ops.index(op) for op, ops in zip(genotype.ops, self.edge_ops, strict=True)]
        return self.run(x, lambda cell, h: cast(SearchCell, cell).forward_discrete(h, choices))

    def arch_weights(self) -> Tensor:
        """Softmaxed alpha (6, 5), with PC-DARTS edge weights multiplied in when on (detached); an edge's
        pruned operations (P-DARTS) get 0."""
        weights = F.softmax(self.alpha_cell.detach(), dim=-1)
        edge = self.edge_weights()
        weights = weights if edge is None else weights * edge.detach().unsqueeze(-1)
        return full_width(weights, self.edge_ops, OPS)

    def genotype(self) -> Nb201Cell:
        """The derived cell: the strongest of the five operations on every edge, ``none`` included."""
        return derive_cell(self.arch_weights().cpu().numpy())

    def arch_metrics(self) -> dict[str, Any]:
        """What a search reports: ``arch`` (the derived architecture string), ``alpha_cell`` (softmaxed,
        6 x 5) and with edge normalisation ``beta_cell`` (the normalised edge weights, 6)."""
        out: dict[str, Any] = {
            "arch": self.genotype().arch_str,
            "alpha_cell": F.softmax(self.alpha_cell.detach(), -1).cpu().tolist(),
        }
        edge = self.edge_weights()
        if edge is not None:
            out["beta_cell"] = edge.detach().cpu().tolist()
        return out
