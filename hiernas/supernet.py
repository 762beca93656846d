"""What the cell-level supernets (DARTS cells, NAS-Bench-201 cells) share: the architecture-parameter
plumbing, the per-method mixing of an edge, and how an edge is built for a method.

The method switches live here once: ``mode`` (``hiernas.mixed.ChoiceMode``: softmax, hard Gumbel,
ProxylessNAS' binary gates, DropNAS' grouped dropout, PARSEC's prior samples), ``drop_prob`` (DropNAS, per
operation), ``merge`` (MergeNAS' merged convolutions, ``hiernas.merged``) and ``skip_dropout`` (P-DARTS'
dropout after every skip connection).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hiernas.merged import ConvMembers, MergedChoice
from hiernas.mixed import ChoiceMode, MixedChoice, Mixing, mixing_weights

ARCH_PREFIXES = ("alpha_", "beta_")


class SkipDropout(nn.Module):
    """P-DARTS: dropout after a skip connection, its rate ``p`` set by the trainer at every epoch."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)


def make_edge(
    names: Sequence[str],
    make_op: Callable[[str], nn.Module],
    channels: int,
    stride: int,
    merge_convs: ConvMembers | None = None,
    separable: bool = True,
    channel_fraction: int = 1,
    bypass: nn.Module | None = None,
    skip_dropout: bool = False,
) -> nn.Module:
    """One search edge over the operations ``names``: a ``MixedChoice``, or with ``merge_convs`` MergeNAS'
    ``MergedChoice``; ``skip_dropout`` follows every skip connection with a ``SkipDropout``."""

    def build(name: str) -> nn.Module:
        op = make_op(name)
        return nn.Sequential(op, SkipDropout()) if skip_dropout and name == "skip_connect" else op

    if merge_convs is not None:
        if channel_fraction > 1:
            raise ValueError("merged convolutions (MergeNAS) do not combine with partial channels")
        return MergedChoice(names, channels, stride, build, merge_convs, separable)
    return MixedChoice([build(n) for n in names], channel_fraction=channel_fraction, bypass=bypass)


def full_width(weights: Tensor, edge_ops: Sequence[Sequence[str]], primitives: Sequence[str]) -> Tensor:
    """Per-edge weights ``(E, k)`` over each edge's own operations placed in ``primitives``' columns
    ``(E, n)``; operations an edge does not hold (P-DARTS' pruned ones) get 0."""
    full = weights.new_zeros(weights.shape[0], len(primitives))
    for e, ops in enumerate(edge_ops):
        full[e, [primitives.index(op) for op in ops]] = weights[e]
    return full


def drop_probabilities(primitives: Sequence[str], drop_prob: Mapping[str, float] | None) -> Tensor | None:
    """DropNAS: the drop probability of each of ``primitives`` (a tensor (n,)), or None when off."""
    if drop_prob is None:
        return None
    return torch.tensor([float(drop_prob[name]) for name in primitives])


class ChoiceMixin:
    """Architecture parameters named ``alpha_*``/``beta_*``, their mixing per method, and what was sampled.

    A network sets ``mode``, ``temperature`` and ``drop_prob`` (a tensor (n,) or None) and calls
    ``mix(name, alpha)`` in its forward; ``sampled_masks()`` then tells a sampling architect (ProxylessNAS)
    which candidates that forward computed, aligned with ``arch_parameters()``.
    """

    mode: ChoiceMode
    temperature: float
    drop_prob: Tensor | None

    def arch_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if name.startswith(ARCH_PREFIXES)]  # type: ignore[attr-defined]

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if not name.startswith(ARCH_PREFIXES)]  # type: ignore[attr-defined]

    def arch_penalty(self, step: int, total_steps: int) -> Tensor | float:
        return 0.0

    def mix(self, name: str, alpha: Tensor) -> Mixing:
        """The mixing of architecture parameter ``name`` for this forward pass (recorded for the architect)."""
        drop = None if self.drop_prob is None else self.drop_prob.to(alpha.device)
        mode = self.mode
        if mode is ChoiceMode.DROPOUT and not self.training:  # type: ignore[attr-defined]
            mode = ChoiceMode.SOFTMAX  # DropNAS drops while training only, like any dropout
        mixing = mixing_weights(alpha, mode, self.temperature, drop_prob=drop)
        if not hasattr(self, "_sampled"):
            self._sampled: dict[str, Tensor] = {}
        self._sampled[name] = mixing.active_mask().detach()
        return mixing

    def sampled_masks(self) -> list[Tensor | None]:
        """Per architecture parameter, the bool mask of the candidates the last forward computed (None: a
        parameter that is not a choice, e.g. PC-DARTS' beta, or not mixed yet)."""
        last = getattr(self, "_sampled", {})
        return [
            last.get(name)
            for name, _ in self.named_parameters()  # type: ignore[attr-defined]
            if name.startswith(ARCH_PREFIXES)
        ]

    def set_skip_dropout(self, p: float) -> None:
        """P-DARTS: set the dropout rate after every skip connection."""
        for module in self.modules():  # type: ignore[attr-defined]
            if isinstance(module, SkipDropout):
                module.p = p
