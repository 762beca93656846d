"""The DARTS primitive operations, in a registry by name.

Every operation maps ``(B, C, H, W)`` to ``(B, C, ceil(H / stride), ceil(W / stride))`` so cells work for
any input size, odd sizes included (the DARTS originals assume even sizes in ``FactorizedReduce``).
Convolutions have no bias (BatchNorm follows); ``affine=False`` in the search network, as in DARTS.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

OpFactory = Callable[[int, int, bool], nn.Module]


class _Chain(nn.Module):
    """An operation that is a fixed ``nn.Sequential`` held in ``self.op``."""

    op: nn.Sequential

    def forward(self, x: Tensor) -> Tensor:
        return self.op(x)


def _relu_convs_bn(*convs: nn.Module, out_channels: int, affine: bool) -> nn.Sequential:
    """ReLU, then the convolutions, then BatchNorm: the pattern of every DARTS convolution."""
    return nn.Sequential(nn.ReLU(inplace=False), *convs, nn.BatchNorm2d(out_channels, affine=affine))


class ReLUConvBN(_Chain):
    """ReLU -> convolution -> BatchNorm (the cell preprocessing)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
                 affine: bool = True) -> None:
        super().__init__()
        conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.op = _relu_convs_bn(conv, out_channels=out_channels, affine=affine)


class DilConv(_Chain):
    """ReLU -> depthwise (dilated) convolution -> pointwise convolution -> BatchNorm."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
                 dilation: int, affine: bool = True) -> None:
        super().__init__()
        depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride, padding=padding,
                              dilation=dilation, groups=in_channels, bias=False)
        pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.op = _relu_convs_bn(depthwise, pointwise, out_channels=out_channels, affine=affine)


class SepConv(_Chain):
    """Two stacked ``DilConv`` with dilation 1 (DARTS' separable convolution); only the first strides."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
                 affine: bool = True) -> None:
        super().__init__()
        self.op = nn.Sequential(
            DilConv(in_channels, in_channels, kernel_size, stride, padding, 1, affine),
            DilConv(in_channels, out_channels, kernel_size, 1, padding, 1, affine),
        )


class Zero(nn.Module):
    """The ``none`` operation: zeros of the (strided) input shape."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)  # (B, C, ceil(H/s), ceil(W/s))


class FactorizedReduce(nn.Module):
    """Halve H and W with two 1x1 stride-2 convolutions on offset grids, concatenated (nothing dropped)."""

    def __init__(self, in_channels: int, out_channels: int, affine: bool = True) -> None:
        super().__init__()
        if out_channels % 2:
            raise ValueError(f"FactorizedReduce needs an even out_channels, got {out_channels}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_even = nn.Conv2d(in_channels, out_channels // 2, 1, stride=2, bias=False)
        self.conv_odd = nn.Conv2d(in_channels, out_channels // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, affine=affine)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(x)
        # the odd grid is shifted by one pixel; padding the far edge keeps ceil(H/2) for odd H too
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))  # (B, C, H, W)
        out = torch.cat(
            [self.conv_even(x), self.conv_odd(shifted)], dim=1
        )  # (B, C_out, ceil(H/2), ceil(W/2))
        return self.bn(out)


def _pool(kind: str) -> OpFactory:
    def build(channels: int, stride: int, affine: bool) -> nn.Module:
        if kind == "max":
            return nn.MaxPool2d(3, stride=stride, padding=1)
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)

    return build


def _skip(channels: int, stride: int, affine: bool) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, affine)


OPS: dict[str, OpFactory] = {
    "none": lambda channels, stride, affine: Zero(stride),
    "max_pool_3x3": _pool("max"),
    "avg_pool_3x3": _pool("avg"),
    "skip_connect": _skip,
    "sep_conv_3x3": lambda channels, stride, affine: SepConv(channels, channels, 3, stride, 1, affine),
    "sep_conv_5x5": lambda channels, stride, affine: SepConv(channels, channels, 5, stride, 2, affine),
    "dil_conv_3x3": lambda channels, stride, affine: DilConv(channels, channels, 3, stride, 2, 2, affine),
    "dil_conv_5x5": lambda channels, stride, affine: DilConv(channels, channels, 5, stride, 4, 2, affine),
}


def make_op(name: str, channels: int, stride: int = 1, affine: bool = True) -> nn.Module:
    """Build the primitive ``name`` on ``channels`` channels; raises ``KeyError`` naming the valid ops."""
    try:
        factory = OPS[name]
    except KeyError:
        raise KeyError(f"unknown operation {name!r}; valid operations: {sorted(OPS)}") from None
    if stride not in (1, 2):
        raise ValueError(f"stride must be 1 or 2, got {stride}")
    return factory(channels, stride, affine)
