"""The network trained from scratch for a DARTS genotype: discrete cells on ``hiernas.darts.skeleton``'s
skeleton, with drop-path and DARTS' auxiliary head."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hiernas.darts.ops import FactorizedReduce, ReLUConvBN, make_op
from hiernas.darts.skeleton import stack_cells, stem
from spaces.darts import Genotype


def drop_path(x: Tensor, drop_prob: float, generator: torch.Generator | None = None) -> Tensor:
    """Zero whole samples of a branch with probability ``drop_prob``, rescaling the kept ones."""
    keep = 1.0 - drop_prob
    probs = torch.full((x.shape[0], 1, 1, 1), keep)
    mask = torch.bernoulli(probs, generator=generator).to(x.device, x.dtype)  # (B, 1, 1, 1)
    return x / keep * mask


class EvalCell(nn.Module):
    """A discrete cell of a genotype: each node sums its two operations."""

    def __init__(
        self,
        genotype: Genotype,
        prev_prev_channels: int,
        prev_channels: int,
        channels: int,
        reduction: bool,
        reduction_prev: bool,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        kind = "reduce" if reduction else "normal"
        self.edges = genotype.cell(kind)
        self.concat = genotype.concat(kind)
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(prev_prev_channels, channels)
        else:
            self.preprocess0 = ReLUConvBN(prev_prev_channels, channels, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(prev_channels, channels, 1, 1, 0)
        self.ops = nn.ModuleList(
            make_op(name, channels, 2 if reduction and source < 2 else 1, affine=True)
            for name, source in self.edges
        )

    def forward(
        self, s0: Tensor, s1: Tensor, drop_prob: float = 0.0, generator: torch.Generator | None = None
    ) -> Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]  # 2 x (B, C, H, W)
        for node in range(len(self.edges) // 2):
            total: Tensor | None = None
            for e in (2 * node, 2 * node + 1):
                h = self.ops[e](states[self.edges[e][1]])  # (B, C, H', W')
                if self.training and drop_prob > 0 and not isinstance(self.ops[e], nn.Identity):
                    h = drop_path(h, drop_prob, generator)
                total = h if total is None else total + h
            states.append(total)
        return torch.cat([states[i] for i in self.concat], dim=1)  # (B, len(concat) * C, H', W')


class AuxiliaryHead(nn.Module):
    """DARTS' auxiliary classifier after the second reduction cell (pooled to 2x2 for any input size)."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AdaptiveAvgPool2d(2),  # DARTS: AvgPool2d(5, stride=3) on the 8x8 map of 32x32 inputs
            nn.Conv2d(channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).flatten(1))  # (B, num_classes)


class EvalNetwork(nn.Module):
    """The network trained from scratch for a genotype (DARTS CIFAR: C=36, 20 cells, auxiliary head).

    ``drop_path_prob`` is set by the training loop each epoch; ``drop_generator`` seeds the drop-path masks.
    """

    def __init__(
        self,
        genotype: Genotype,
        in_channels: int,
        num_classes: int,
        channels: int = 36,
        layers: int = 20,
        auxiliary: bool = True,
        stem_multiplier: int = 3,
    ) -> None:
        super().__init__()
        self.drop_path_prob = 0.0
        self.drop_generator: torch.Generator | None = None
        self.aux_layer = 2 * layers // 3
        stem_channels = stem_multiplier * channels
        self.stem = stem(in_channels, stem_channels)

        def make_cell(pp: int, p: int, c: int, reduction: bool, reduction_prev: bool) -> tuple[nn.Module, int]:
            cell = EvalCell(genotype, pp, p, c, reduction, reduction_prev)
            return cell, len(cell.concat)

        self.cells, outputs = stack_cells(layers, stem_channels, channels, make_cell)
        aux_channels = outputs[self.aux_layer] if self.aux_layer < layers else None
        self.auxiliary = AuxiliaryHead(aux_channels, num_classes) if auxiliary and aux_channels else None
        self.classifier = nn.Linear(outputs[-1], num_classes)

    def forward_train(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """Logits and, in training mode with the head on, the auxiliary logits."""
        aux_logits = None
        s0 = s1 = self.stem(x)  # (B, 3C, H, W)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob, self.drop_generator)
            if i == self.aux_layer and self.auxiliary is not None and self.training:
                aux_logits = self.auxiliary(s1)
        return self.classifier(F.adaptive_avg_pool2d(s1, 1).flatten(1)), aux_logits

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_train(x)[0]
