"""NAS-Bench-201's five cell operations and its residual reduction block, built from ``hiernas.darts.ops``
where they are the same thing.

Every cell operation keeps ``(B, C, H, W)``: ``none`` (zeros), ``skip_connect`` (identity), ``nor_conv_1x1``
and ``nor_conv_3x3`` (ReLU -> convolution without bias -> BatchNorm) and ``avg_pool_3x3`` (stride 1,
padding 1, the padding left out of the mean). Unlike DARTS, NAS-Bench-201 puts no BatchNorm after pooling,
in the search network neither.
"""

from __future__ import annotations

from torch import Tensor, nn

from hiernas.darts.ops import ReLUConvBN, make_op
from spaces.nb201 import OPS

_CONV_KERNELS = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}


def make_nb201_op(name: str, channels: int, affine: bool = True) -> nn.Module:
    """The operation ``name`` on ``channels`` channels (stride 1); ``KeyError`` names the valid ones."""
    if name in _CONV_KERNELS:
        kernel = _CONV_KERNELS[name]
        return ReLUConvBN(channels, channels, kernel, 1, kernel // 2, affine)
    if name in OPS:  # none, skip_connect, avg_pool_3x3: the DARTS primitives of the same name at stride 1
        return make_op(name, channels, 1, affine)
    raise KeyError(f"unknown NAS-Bench-201 operation {name!r}; valid operations: {list(OPS)}")


class ResidualReduction(nn.Module):
    """The block between two stages: a ResNet basic block of stride 2 that maps ``in_channels`` to ``out_channels``.

    Two ReLU-conv-BN 3x3 (the first with stride 2) plus a shortcut of 2x2 average pooling (stride 2) and a 1x1
    convolution. The pooling rounds up (``ceil_mode``) so odd sizes match the strided convolution; on even
    sizes it is the benchmark's block.
    """

    def __init__(self, in_channels: int, out_channels: int, affine: bool = True) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(in_channels, out_channels, 3, 2, 1, affine)
        self.conv_b = ReLUConvBN(out_channels, out_channels, 3, 1, 1, affine)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, stride=2, ceil_mode=True),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))  # (B, C_out, ceil(H/2), ceil(W/2))
