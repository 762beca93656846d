"""The primitive registry and the published parameter counts."""

from __future__ import annotations

import pytest
import torch

from hiernas.darts.eval_network import EvalNetwork
from hiernas.darts.ops import OPS, make_op
from hiernas.darts.search_network import SearchNetwork
from hiernas.darts.skeleton import count_parameters
from spaces.darts import DARTS_V2, PC_DARTS, PRIMITIVES


def test_registry_covers_the_primitives() -> None:
    assert set(OPS) == set(PRIMITIVES)


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("size", [8, 7])
def test_every_op_keeps_channels_and_strides(name: str, stride: int, size: int) -> None:
    op = make_op(name, 4, stride, affine=False)
    out = op(torch.randn(2, 4, size, size))
    side = -(-size // stride)
    assert out.shape == (2, 4, side, side)


def test_unknown_op_lists_valid_names() -> None:
    with pytest.raises(KeyError, match="sep_conv_3x3"):
        make_op("conv_7x1_1x7", 4)


def _eval_params(genotype) -> int:  # type: ignore[no-untyped-def]
    with torch.device("meta"):
        return count_parameters(EvalNetwork(genotype, 3, 10, channels=36, layers=20, auxiliary=True))


@pytest.mark.parametrize("genotype, published", [(DARTS_V2, 3.3), (PC_DARTS, 3.6)])
def test_published_genotypes_reproduce_published_sizes(genotype, published: float) -> None:  # type: ignore[no-untyped-def]
    # the papers print millions to one decimal; DARTS_V2 is 3.349M (1.5% above 3.3M, as DARTS' own log)
    millions = _eval_params(genotype) / 1e6
    assert round(millions, 1) == published
    assert abs(millions - published) / published < 0.02


def test_exact_counts_match_the_reference_logs() -> None:
    # DARTS prints 3.349342 MB for DARTS_V2; PC-DARTS reports 3.63M; DARTS' search log 1.930618 MB
    assert _eval_params(DARTS_V2) == 3_349_342
    assert _eval_params(PC_DARTS) == 3_634_678
    with torch.device("meta"):
        assert count_parameters(SearchNetwork(3, 10, channels=16, layers=8, steps=4)) == 1_930_618
