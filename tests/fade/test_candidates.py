"""Cells of every space in a hyper-architecture row (``hiernas.fade.candidates``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hiernas.fade.candidates import Nb201Candidate, candidate_factory
from hiernas.fade.config import ModelConfig
from hiernas.fade.hypernet import HyperNet
from hiernas.fade.trial import decode_cells
from hiernas.nb201.network import DiscreteCell
from spaces.nb201 import parse_arch
from spaces.registry import SPACE_NAMES, make_space

A = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
B = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_1x1~2|"


@pytest.mark.parametrize("space", SPACE_NAMES)
@pytest.mark.parametrize("mode", ["softmax", "gumbel_hard"])
def test_every_space_builds_a_hypernet_that_runs(space: str, mode: str) -> None:
    rng = np.random.default_rng(0)
    cells_space = make_space(space)
    model = ModelConfig(depth=2, window=3, space=space, choice_mode=mode, kernel_size=3)
    cells = [[cells_space.encode(cells_space.sample(rng)) for _ in range(3)] for _ in range(2)]
    net = HyperNet(decode_cells(cells, model), model, 3, 10, 16)
    x = torch.randn(4, 3, 16, 16)
    assert net(x).shape == (4, 10) and net.forward_path(x, [2, 0]).shape == (4, 10)
    loss = net(x).sum()
    loss.backward()
    assert all(p.grad is not None for p in net.weight_parameters() if p.requires_grad) or mode == "gumbel_hard"


def test_nb201_rows_share_weights_by_edge_and_operation() -> None:
    model = ModelConfig(depth=1, window=2, space="nb201", share_weights=True)
    net = HyperNet(decode_cells([[A, B]], model), model, 3, 10, 8)
    first, second = net.rows[0].candidates  # type: ignore[union-attr]
    assert isinstance(first, Nb201Candidate) and isinstance(second, Nb201Candidate)
    assert first.edges[0] is second.edges[0]  # both nor_conv_3x3 on edge 0
    assert first.edges[2] is second.edges[2]  # both nor_conv_1x1 on edge 2
    assert first.edges[5] is not second.edges[5]  # nor_conv_3x3 vs nor_conv_1x1 on edge 5
    assert first.projection is second.projection


def test_an_nb201_candidate_computes_the_benchmark_cell() -> None:
    """Without sharing, a candidate is its projection followed by the benchmark's discrete cell."""
    torch.manual_seed(0)
    model = ModelConfig(depth=1, window=1, space="nb201")
    candidate = candidate_factory(model).module(parse_arch(A), 8, 8, torch.nn.ModuleDict())
    assert isinstance(candidate, Nb201Candidate)
    reference = DiscreteCell(parse_arch(A), 8)
    reference.edges.load_state_dict(candidate.edges.state_dict())
    candidate.eval()
    reference.eval()
    x = torch.randn(2, 8, 6, 6)
    assert torch.allclose(candidate(x), reference(x))  # in == out channels: the projection is the identity


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"space": "imagenet"}, "space"),
        ({"space": "nb201", "equal_params_convs": 4}, "equal_params_convs"),
        ({"space": "darts", "share_weights": True}, "share_weights"),
    ],
)
def test_model_config_refuses_what_a_space_cannot_do(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModelConfig(**overrides)  # type: ignore[arg-type]


def test_a_malformed_cell_of_a_space_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="NAS-Bench-201"):
        decode_cells([["|conv~0|+|"]], ModelConfig(depth=1, window=1, space="nb201"))
