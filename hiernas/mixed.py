"""The mixed-choice layer: one weighted choice among candidate modules, used at both search levels.

At the hierarchical level (FaDE) the candidates are whole cells of a row; at the cell level (DARTS,
PC-DARTS, GDAS) they are the primitive operations of an edge. The architecture weights live in the
owning network (shared cells share one tensor); this layer receives the mixing weights per call.

Modes (``ChoiceMode``):
- ``softmax`` (DARTS): every candidate is computed and summed with softmax(alpha) weights.
- ``gumbel_hard`` (GDAS, FaDE): one candidate is sampled by the Gumbel-max trick and only that one is
  computed; the straight-through one-hot keeps a gradient path to alpha.
- ``gumbel_soft`` (SNAS): all candidates, weighted by a relaxed Gumbel-softmax sample.
- ``binary`` (ProxylessNAS, weight step): one candidate sampled from softmax(alpha) is computed, its binary
  gate passed straight through to the softmax.
- ``binary_pair`` (ProxylessNAS, architecture step): two distinct candidates sampled from softmax(alpha);
  one of them is active (drawn from the softmax restricted to the two), both are computed so that both
  gates get a gradient, and alpha reaches the loss only through the softmax of the two.
- ``dropout`` (DropNAS): every candidate is dropped with its own probability (grouped operation dropout,
  at least one kept per choice); the kept ones are computed and mixed with softmax(alpha).
- ``sample`` (PARSEC): one candidate sampled from the prior softmax(alpha); weights carry no gradient.
Partial channels (PC-DARTS): only ``1/channel_fraction`` of the channels enter the candidates, the
rest bypass them, and a channel shuffle mixes the two parts before the next layer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ChoiceMode(str, Enum):
    """How architecture weights turn into mixing weights."""

    SOFTMAX = "softmax"
    GUMBEL_HARD = "gumbel_hard"
    GUMBEL_SOFT = "gumbel_soft"
    BINARY = "binary"
    BINARY_PAIR = "binary_pair"
    DROPOUT = "dropout"
    SAMPLE = "sample"


@dataclass(frozen=True)
class Mixing:
    """Mixing weights for the choices of one tensor of architecture weights.

    ``weights`` has the shape of the logits (``(..., n)``). ``index`` says which candidates are computed:
    ``None`` all of them; a long tensor of the leading shape: that one candidate per choice (hard Gumbel,
    ``binary``, ``sample``); a bool tensor ``(..., n)``: that subset (``binary_pair``, ``dropout``).
    """

    weights: Tensor
    index: Tensor | None = None

    def active_mask(self) -> Tensor:
        """The computed candidates as a bool mask of the weights' shape (all True when every one is)."""
        if self.index is None:
            return torch.ones_like(self.weights, dtype=torch.bool)
        if self.index.dtype == torch.bool:
            return self.index
        return F.one_hot(self.index, self.weights.shape[-1]).bool()


def gumbel_noise(shape: torch.Size, device: torch.device, generator: torch.Generator | None = None) -> Tensor:
    """Standard Gumbel noise ``-log(-log(U))``, clamped away from 0 and 1 to stay finite."""
    uniform = torch.rand(shape, device=device, generator=generator).clamp_(1e-10, 1.0 - 1e-10)
    return -torch.log(-torch.log(uniform))


def _sample(probs: Tensor, count: int, generator: torch.Generator | None) -> Tensor:
    """``count`` distinct candidates per choice drawn from ``probs`` ``(..., n)``: long ``(..., count)``."""
    flat = probs.detach().reshape(-1, probs.shape[-1]).float()
    drawn = torch.multinomial(flat, count, replacement=False, generator=generator)
    return drawn.reshape(*probs.shape[:-1], count)


def _straight_through(index: Tensor, probs: Tensor) -> Tensor:
    """One-hot of ``index`` in the forward pass, the gradient of ``probs`` in the backward pass (binary gates)."""
    hard = F.one_hot(index, probs.shape[-1]).to(probs.dtype)
    return hard - probs.detach() + probs


def _binary_pair(logits: Tensor, generator: torch.Generator | None) -> Mixing:
    """ProxylessNAS' architecture step: two sampled candidates, gates over the softmax of their two logits."""
    pair = _sample(F.softmax(logits, dim=-1), 2, generator)  # (..., 2)
    pair_probs = F.softmax(logits.gather(-1, pair), dim=-1)  # (..., 2): the softmax restricted to the pair
    gate = _sample(pair_probs, 1, generator).squeeze(-1)  # (...,): which of the two is active
    gates = _straight_through(gate, pair_probs)  # (..., 2)
    weights = torch.zeros_like(logits).scatter(-1, pair, gates)  # (..., n): zero off the pair
    mask = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, pair, True)
    return Mixing(weights, mask)


def drop_mask(drop_prob: Tensor, shape: torch.Size, generator: torch.Generator | None = None) -> Tensor:
    """DropNAS: keep each candidate with probability ``1 - drop_prob`` ``(n,)``; a choice left with none
    keeps one candidate drawn uniformly. Returns a bool mask of ``shape`` ``(..., n)``."""
    keep = torch.rand(shape, device=drop_prob.device, generator=generator) >= drop_prob
    empty = ~keep.any(dim=-1)  # (...,)
    if bool(empty.any()):
        uniform = torch.full(shape, 1.0 / shape[-1], device=drop_prob.device)
        rescue = F.one_hot(_sample(uniform, 1, generator).squeeze(-1), shape[-1]).bool()
        keep = keep | (rescue & empty.unsqueeze(-1))
    return keep


def mixing_weights(
    logits: Tensor,
    mode: ChoiceMode | str,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    drop_prob: Tensor | None = None,
) -> Mixing:
    """Turn architecture logits ``(..., n)`` into mixing weights over the last axis.

    ``drop_prob`` ``(n,)``: each candidate's drop probability (``dropout`` mode only).
    """
    mode = ChoiceMode(mode)
    if mode is ChoiceMode.SOFTMAX:
        return Mixing(F.softmax(logits, dim=-1))
    if mode is ChoiceMode.BINARY:
        probs = F.softmax(logits, dim=-1)
        index = _sample(probs, 1, generator).squeeze(-1)
        return Mixing(_straight_through(index, probs), index)
    if mode is ChoiceMode.BINARY_PAIR:
        return _binary_pair(logits, generator)
    if mode is ChoiceMode.SAMPLE:
        index = _sample(F.softmax(logits, dim=-1), 1, generator).squeeze(-1)
        return Mixing(F.one_hot(index, logits.shape[-1]).to(logits.dtype), index)
    if mode is ChoiceMode.DROPOUT:
        if drop_prob is None:
            raise ValueError("dropout mode needs drop_prob, one drop probability per candidate")
        return Mixing(F.softmax(logits, dim=-1), drop_mask(drop_prob, logits.shape, generator))
    noisy = (F.log_softmax(logits, dim=-1) + gumbel_noise(logits.shape, logits.device, generator)) / temperature
    soft = F.softmax(noisy, dim=-1)
    if mode is ChoiceMode.GUMBEL_SOFT:
        return Mixing(soft)
    index = soft.argmax(dim=-1)
    hard = F.one_hot(index, logits.shape[-1]).to(soft.dtype)
    # straight-through: forward value is one-hot, gradient is that of the relaxed sample
    return Mixing(hard - soft.detach() + soft, index)


def gumbel_softmax_sample(logits: Tensor, temperature: float, generator: torch.Generator | None = None) -> Tensor:
    """A relaxed (soft) Gumbel-softmax sample over the last axis; used by the FaDE regulariser."""
    return mixing_weights(logits, ChoiceMode.GUMBEL_SOFT, temperature, generator).weights


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """Interleave ``groups`` channel groups (ShuffleNet), so bypassed channels meet the ops next layer."""
    if groups == 1:
        return x
    batch, channels, height, width = x.shape  # (B, C, H, W)
    x = x.view(batch, groups, channels // groups, height, width).transpose(1, 2).contiguous()
    return x.view(batch, channels, height, width)


class MixedChoice(nn.Module):
    """A weighted choice among candidate modules with identical output shapes.

    Args:
        candidates: the modules to choose among (operations of an edge, or cells of a row).
        channel_fraction: PC-DARTS K; only ``C // K`` input channels enter the candidates.
        bypass: applied to the masked channels when ``channel_fraction > 1`` (e.g. max pooling in a
            reduction cell so the bypassed channels match the candidates' stride); identity if None.
    """

    def __init__(
        self,
        candidates: Iterable[nn.Module],
        channel_fraction: int = 1,
        bypass: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.candidates = nn.ModuleList(candidates)
        if len(self.candidates) == 0:
            raise ValueError("MixedChoice needs at least one candidate")
        if channel_fraction < 1:
            raise ValueError(f"channel_fraction must be >= 1, got {channel_fraction}")
        self.channel_fraction = channel_fraction
        self.bypass = bypass if bypass is not None else nn.Identity()

    def __len__(self) -> int:
        return len(self.candidates)

    def forward(self, x: Tensor, weights: Tensor, index: int | Tensor | None = None) -> Tensor:
        """Mix the candidates' outputs on ``x`` with ``weights`` (n,).

        ``index``: an int (or 0-d tensor) computes only that candidate; a bool mask (n,) only those; the
        others are not run at all (no activations kept, no gradient for their weights).
        """
        if self.channel_fraction > 1:
            active = x.shape[1] // self.channel_fraction
            x_active, x_bypass = x[:, :active], x[:, active:]  # (B, C/K, H, W), (B, C - C/K, H, W)
        else:
            x_active, x_bypass = x, None
        if isinstance(index, Tensor) and index.dtype == torch.bool:
            chosen = index.nonzero().flatten().tolist()
            out = sum(weights[k] * self.candidates[k](x_active) for k in chosen)
        elif index is not None:
            k = int(index)
            out = weights[k] * self.candidates[k](x_active)
        else:
            out = sum(w * op(x_active) for w, op in zip(weights, self.candidates, strict=True))
        if x_bypass is None:
            return out
        out = torch.cat([out, self.bypass(x_bypass)], dim=1)
        return channel_shuffle(out, self.channel_fraction)


def edge_normalisation(beta: Tensor) -> Tensor:
    """PC-DARTS edge normalisation: softmax over the incoming edges of a node, used as edge weights."""
    return F.softmax(beta, dim=-1)
