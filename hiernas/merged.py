"""MergeNAS: the convolutions of an edge share one kernel tensor, and the mixed output is one convolution.

MergeNAS (Wang et al., 2020) observes that a convolution of kernel ``k`` and dilation ``d`` is a convolution
of a larger kernel with zeros outside a mask ``M^o`` (its receptive field). The convolutions of one edge then
share one tensor ``W`` of the largest receptive field, each reads ``M^o * W``, and because convolution is
linear, the alpha-weighted sum of their outputs is a single convolution with the kernel
``W * sum_o w_o M^o``: one output and one set of activations instead of one per operation. Skip connection
and 3x3 average pooling are linear too and merge the same way into one fixed depthwise kernel
``w_skip * delta + w_avg * box / 9``.

Deviations, each forced by the equality above needing linear operations (said again in the README):
- The convolutions merged on an edge share what surrounds the kernel: one ReLU before, one pointwise
  convolution (separable case) and one BatchNorm after. DARTS' ``sep_conv`` stacks two ReLU-conv layers; the
  merged edge has one layer (the nonlinearity between two layers would break the merge).
- The merged average pooling counts the zero padding (``count_include_pad=True``) and has no BatchNorm after
  it (the DARTS search network puts one there); a strided skip connection (DARTS' ``FactorizedReduce``) and
  max pooling are not linear kernels and stay separate operations, as does ``none``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# a merged convolution's members: operation name -> (kernel size, dilation)
ConvMembers = Mapping[str, tuple[int, int]]
DARTS_CONVS: dict[str, tuple[int, int]] = {
    "sep_conv_3x3": (3, 1),
    "sep_conv_5x5": (5, 1),
    "dil_conv_3x3": (3, 2),
    "dil_conv_5x5": (5, 2),
}
NB201_CONVS: dict[str, tuple[int, int]] = {"nor_conv_1x1": (1, 1), "nor_conv_3x3": (3, 1)}
FREE_OPS = ("skip_connect", "avg_pool_3x3")  # merged into one fixed kernel at stride 1


def receptive_mask(kernel: int, dilation: int, size: int) -> Tensor:
    """The ``size x size`` mask of the taps a ``kernel``/``dilation`` convolution reads, centred (``M^o``)."""
    span = (kernel - 1) * dilation + 1
    if span > size or size % 2 == 0 or span % 2 == 0:
        raise ValueError(f"a {kernel}x{kernel} kernel of dilation {dilation} does not centre in {size}x{size}")
    mask = torch.zeros(size, size)
    start = (size - span) // 2
    taps = torch.arange(start, start + span, dilation)
    mask[taps.unsqueeze(1), taps.unsqueeze(0)] = 1.0
    return mask


class MergedConv(nn.Module):
    """ReLU -> one convolution with kernel ``W * sum_o w_o M^o`` [-> pointwise] -> BatchNorm.

    Args:
        channels: in = out channels. stride: of the convolution.
        members: the merged operations (name -> kernel, dilation), in the order their weights are given.
        separable: depthwise kernel then a shared 1x1 (DARTS' separable and dilated convolutions); False: a
            full convolution (NAS-Bench-201's ``nor_conv``).
    """

    def __init__(self, channels: int, stride: int, members: ConvMembers, separable: bool, affine: bool = False) -> None:
        super().__init__()
        self.names = tuple(members)
        self.size = max((k - 1) * d + 1 for k, d in members.values())
        self.stride, self.separable = stride, separable
        self.register_buffer("masks", torch.stack([receptive_mask(k, d, self.size) for k, d in members.values()]))
        in_per_group = 1 if separable else channels
        self.weight = nn.Parameter(torch.empty(channels, in_per_group, self.size, self.size))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # nn.Conv2d's default initialisation
        self.pointwise = nn.Conv2d(channels, channels, 1, bias=False) if separable else None
        self.bn = nn.BatchNorm2d(channels, affine=affine)

    def kernel(self, member_weights: Tensor) -> Tensor:
        """The merged kernel for the members' mixing weights ``(m,)``: ``W * sum_o w_o M^o``."""
        mask = torch.einsum("m,mhw->hw", member_weights.to(self.weight.dtype), self.masks)  # (size, size)
        return self.weight * mask

    def linear(self, x: Tensor, member_weights: Tensor) -> Tensor:
        """The linear part: the merged convolution (and the shared pointwise one) on ``x``."""
        groups = x.shape[1] if self.separable else 1
        out = F.conv2d(x, self.kernel(member_weights), stride=self.stride, padding=self.size // 2, groups=groups)
        return out if self.pointwise is None else self.pointwise(out)

    def forward(self, x: Tensor, member_weights: Tensor) -> Tensor:
        return self.bn(self.linear(F.relu(x), member_weights))


def free_kernel(skip_weight: Tensor, avg_weight: Tensor) -> Tensor:
    """The 3x3 kernel of ``skip_weight * identity + avg_weight * 3x3 mean`` (padding counted)."""
    kernel = avg_weight * torch.full((3, 3), 1.0 / 9.0, dtype=avg_weight.dtype, device=avg_weight.device)
    return kernel + skip_weight * F.pad(torch.ones(1, 1, dtype=kernel.dtype, device=kernel.device), (1, 1, 1, 1))


class MergedChoice(nn.Module):
    """A mixed choice whose convolutions (and, at stride 1, skip and average pooling) are merged.

    Drop-in for ``hiernas.mixed.MixedChoice`` (same ``forward(x, weights, index)``, ``len``) over the
    operations ``names``; ``make_op(name)`` builds the operations that are not merged.
    """

    def __init__(
        self,
        names: Sequence[str],
        channels: int,
        stride: int,
        make_op: Callable[[str], nn.Module],
        convs: ConvMembers,
        separable: bool,
    ) -> None:
        super().__init__()
        self.names = tuple(names)
        conv_members = {n: convs[n] for n in self.names if n in convs}
        self.conv_index = [self.names.index(n) for n in conv_members]
        self.conv = MergedConv(channels, stride, conv_members, separable) if conv_members else None
        free = [n for n in FREE_OPS if n in self.names] if stride == 1 else []
        self.free_index = [self.names.index(n) for n in free]
        self.free_names = tuple(free)
        merged = set(conv_members) | set(free)
        self.separate = nn.ModuleDict({n: make_op(n) for n in self.names if n not in merged})
        # looked up once: forward runs on every step of every edge
        self.separate_index = tuple(self.names.index(n) for n in self.separate)
        self.all_active = torch.ones(len(self.names), dtype=torch.bool)  # on the CPU: masks are read on the host

    def __len__(self) -> int:
        return len(self.names)

    def forward(self, x: Tensor, weights: Tensor, index: int | Tensor | None = None) -> Tensor:
        """Mix the operations on ``x`` with ``weights`` (n,); ``index`` as in ``MixedChoice.forward``."""
        if index is None:
            active = self.all_active
            gated = weights
        else:
            if isinstance(index, Tensor) and index.dtype == torch.bool:
                active = index.cpu()
            else:
                active = torch.zeros(len(self.names), dtype=torch.bool)
                active[int(index)] = True
            gated = weights * active.to(weights.device).to(weights.dtype)  # (n,): zero for ops not computed
        parts: list[Tensor] = []
        for k, op in zip(self.separate_index, self.separate.values(), strict=True):
            if active[k]:
                parts.append(weights[k] * op(x))
        if self.conv is not None and bool(active[self.conv_index].any()):
            parts.append(self.conv(x, gated[self.conv_index]))
        if self.free_index and bool(active[self.free_index].any()):
            mix = dict(zip(self.free_names, gated[self.free_index], strict=True))
            zero = weights.new_zeros(())
            kernel = free_kernel(mix.get("skip_connect", zero), mix.get("avg_pool_3x3", zero))
            channels = x.shape[1]
            parts.append(F.conv2d(x, kernel.expand(channels, 1, 3, 3), padding=1, groups=channels))
        out = parts[0]
        for part in parts[1:]:
            out = out + part
        return out
