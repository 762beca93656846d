"""MergeNAS: the merged convolution equals the alpha-weighted sum of the separate convolutions it replaces
(DARTS' separable and dilated ones, NAS-Bench-201's full ones, strided too), the merged skip and average
pooling equal theirs, and a merged supernet has fewer weights and runs one convolution per edge."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hiernas.darts.search_network import SearchNetwork
from hiernas.merged import DARTS_CONVS, NB201_CONVS, MergedChoice, MergedConv, free_kernel, receptive_mask
from hiernas.nb201.search_network import Nb201SearchNetwork


def _separate(conv: MergedConv, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The alpha-weighted sum of each member as its own convolution (its kernel cut out of the shared W)."""
    total = torch.zeros(())
    size = conv.size
    table = {**DARTS_CONVS, **NB201_CONVS}
    for w, name in zip(weights, conv.names, strict=True):
        kernel, dilation = table[name]
        span = (kernel - 1) * dilation + 1
        start = (size - span) // 2
        own = conv.weight[:, :, start : start + span : dilation, start : start + span : dilation]  # (C, 1|C, k, k)
        groups = x.shape[1] if conv.separable else 1
        out = F.conv2d(x, own, stride=conv.stride, padding=span // 2, dilation=dilation, groups=groups)
        out = out if conv.pointwise is None else conv.pointwise(out)
        total = total + w * out
    return total


@pytest.mark.parametrize(("members", "separable"), [(DARTS_CONVS, True), (NB201_CONVS, False)])
@pytest.mark.parametrize("stride", [1, 2])
def test_merged_convolution_equals_the_weighted_sum_of_the_separate_ones(
    members: dict[str, tuple[int, int]], separable: bool, stride: int
) -> None:
    torch.manual_seed(0)
    conv = MergedConv(5, stride, members, separable)
    x = torch.randn(2, 5, 11, 11, dtype=torch.float64)
    conv = conv.double()
    weights = torch.softmax(torch.randn(len(members), dtype=torch.float64), 0)
    merged = conv.linear(x, weights)
    assert merged.shape == (2, 5, -(-11 // stride), -(-11 // stride))
    assert torch.allclose(merged, _separate(conv, x, weights), atol=1e-10)


def test_receptive_masks_are_the_members_taps() -> None:
    assert receptive_mask(3, 2, 9).sum() == 9 and receptive_mask(5, 2, 9)[::2, ::2].all()
    assert receptive_mask(1, 1, 3).tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="does not centre"):
        receptive_mask(5, 2, 7)


def test_merged_skip_and_average_pooling_equal_the_separate_operations() -> None:
    x = torch.randn(2, 3, 7, 7, dtype=torch.float64)
    skip, avg = torch.tensor(0.3, dtype=torch.float64), torch.tensor(0.7, dtype=torch.float64)
    kernel = free_kernel(skip, avg).expand(3, 1, 3, 3)
    merged = F.conv2d(x, kernel, padding=1, groups=3)
    expected = skip * x + avg * F.avg_pool2d(x, 3, 1, 1, count_include_pad=True)
    assert torch.allclose(merged, expected, atol=1e-12)


def test_merged_choice_matches_its_parts_and_runs_one_convolution() -> None:
    torch.manual_seed(0)
    names = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    choice = MergedChoice(names, 4, 1, lambda name: torch.nn.Identity(), NB201_CONVS, separable=False).eval()
    assert list(choice.separate) == ["none"] and choice.conv is not None
    x = torch.randn(2, 4, 6, 6)
    weights = torch.softmax(torch.randn(5), 0)
    calls = []
    choice.conv.register_forward_hook(lambda *_: calls.append(1))
    out = choice(x, weights)
    assert len(calls) == 1  # both convolutions in one
    conv = choice.conv
    expected = (
        weights[0] * x  # "none" is an Identity stand-in here
        + conv.bn(conv.linear(F.relu(x), weights[2:4]))
        + weights[1] * x
        + weights[4] * F.avg_pool2d(x, 3, 1, 1, count_include_pad=True)
    )
    assert torch.allclose(out, expected, atol=1e-5)
    only_conv = choice(x, weights, 3)  # one operation (DARTS-PD paths): the 3x3 alone
    alone = torch.stack([torch.tensor(0.0), weights[3]])  # member weights (1x1, 3x3)
    assert torch.allclose(only_conv, conv.bn(conv.linear(F.relu(x), alone)), atol=1e-5)


@pytest.mark.parametrize("space", ["darts", "nb201"])
def test_merged_supernet_has_fewer_weights_and_the_same_genotype_form(space: str) -> None:
    def build(merge: bool) -> SearchNetwork | Nb201SearchNetwork:
        torch.manual_seed(0)
        if space == "nb201":
            return Nb201SearchNetwork(3, 4, channels=8, cells_per_stage=1, merge=merge)
        return SearchNetwork(3, 4, channels=8, layers=3, steps=2, merge=merge)

    merged, plain = build(True), build(False)
    count = lambda m: sum(p.numel() for p in m.weight_parameters())  # noqa: E731
    assert count(merged) < count(plain)
    out = merged(torch.randn(2, 3, 8, 8))
    assert out.shape == (2, 4)
    assert type(merged.genotype()) is type(plain.genotype())
