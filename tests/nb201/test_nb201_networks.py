"""The NAS-Bench-201 operations, the benchmark network, the search network and derivation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hiernas.darts.skeleton import count_parameters
from hiernas.nb201.derive import derive_cell, soft_prune_cell
from hiernas.nb201.network import Nb201Network, nb201_size
from hiernas.nb201.ops import ResidualReduction, make_nb201_op
from hiernas.nb201.search_network import Nb201SearchNetwork
from hiernas.nb201.skeleton import NODE_EDGES
from spaces.nb201 import EDGES, OPS, Nb201Cell

# cells that together choose every operation, each op on several edges and positions
CELLS = [
    Nb201Cell(("nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "none", "nor_conv_3x3")),
    Nb201Cell(("avg_pool_3x3", "nor_conv_1x1", "none", "skip_connect", "nor_conv_3x3", "nor_conv_1x1")),
    Nb201Cell(("none", "nor_conv_3x3", "avg_pool_3x3", "nor_conv_1x1", "skip_connect", "avg_pool_3x3")),
]


def test_cells_choose_every_operation() -> None:
    assert {op for cell in CELLS for op in cell.ops} == set(OPS)


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("size", [8, 7])
def test_every_op_keeps_the_shape(name: str, size: int) -> None:
    op = make_nb201_op(name, 4, affine=False)
    assert op(torch.randn(2, 4, size, size)).shape == (2, 4, size, size)


def test_ops_are_the_benchmarks() -> None:
    x = torch.randn(2, 4, 5, 5)
    assert torch.equal(make_nb201_op("none", 4)(x), torch.zeros_like(x))
    assert torch.equal(make_nb201_op("skip_connect", 4)(x), x)
    conv = make_nb201_op("nor_conv_3x3", 4)
    kinds = [type(m) for m in conv.modules() if not isinstance(m, torch.nn.Sequential)][1:]
    assert kinds == [torch.nn.ReLU, torch.nn.Conv2d, torch.nn.BatchNorm2d]
    assert all(m.bias is None for m in conv.modules() if isinstance(m, torch.nn.Conv2d))
    pool = make_nb201_op("avg_pool_3x3", 4)(torch.ones(1, 4, 5, 5))
    torch.testing.assert_close(pool, torch.ones(1, 4, 5, 5))  # padding not counted in the mean
    with pytest.raises(KeyError, match="nor_conv_3x3"):
        make_nb201_op("sep_conv_3x3", 4)


@pytest.mark.parametrize("size", [8, 7])
def test_reduction_halves_and_widens(size: int) -> None:
    block = ResidualReduction(4, 8)
    assert block(torch.randn(2, 4, size, size)).shape == (2, 8, (size + 1) // 2, (size + 1) // 2)


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32)])
def test_networks_output_logits_for_digits_and_cifar(shape: tuple[int, int, int]) -> None:
    x = torch.randn(2, *shape)
    assert Nb201Network(CELLS[0], shape[0], 10)(x).shape == (2, 10)
    for kwargs in ({}, {"mode": "gumbel_hard", "temperature": 5.0}, {"channel_fraction": 4, "edge_norm": True}):
        assert Nb201SearchNetwork(shape[0], 10, **kwargs)(x).shape == (2, 10)  # type: ignore[arg-type]


def test_benchmark_skeleton_and_published_sizes() -> None:
    net = Nb201Network(CELLS[0], 3, 10, channels=16, cells_per_stage=5)
    assert len(net.cells) == 17 and sum(isinstance(b, ResidualReduction) for b in net.cells) == 2
    assert [net.cells[i].conv_a.op[1].out_channels for i in (5, 11)] == [32, 64]
    # NAS-Bench-201 on CIFAR-10: 1.53 MB for all 3x3 convolutions, 0.07 MB for parameter-free cells
    assert nb201_size(Nb201Cell(("nor_conv_3x3",) * 6), 3, 10) == 1_531_546
    assert nb201_size(Nb201Cell(("none",) * 6), 3, 10) == nb201_size(Nb201Cell(("skip_connect",) * 6), 3, 10) == 73_306
    assert count_parameters(net) == nb201_size(CELLS[0], 3, 10)


def _copy_weights(discrete: Nb201Network, search: Nb201SearchNetwork) -> None:
    """The discrete network's weights into the search network: each edge's op into its candidate slot."""
    state = {}
    for key, value in discrete.state_dict().items():
        parts = key.split(".")
        if parts[0] == "cells" and parts[2] == "edges":
            op = OPS.index(discrete.cell.ops[int(parts[3])])
            parts = [*parts[:4], "candidates", str(op), *parts[4:]]
        state[".".join(parts)] = value
    missing, unexpected = search.load_state_dict(state, strict=False)
    assert [k for k in missing if ".candidates." not in k] == ["alpha_cell"]
    for key in (k for k in missing if ".candidates." in k):  # only ops the cell does not choose
        edge, op = int(key.split(".")[3]), int(key.split(".")[5])
        assert OPS[op] != discrete.cell.ops[edge], key
    assert all(k.endswith((".weight", ".bias")) and ".candidates." in k for k in unexpected)  # affine BN only


@pytest.mark.parametrize("cell", CELLS)
def test_search_network_with_one_hot_alpha_is_the_discrete_network(cell: Nb201Cell) -> None:
    torch.manual_seed(0)
    discrete = Nb201Network(cell, 3, 10, channels=8, cells_per_stage=2)
    discrete.train()
    with torch.no_grad():
        for _ in range(3):  # BatchNorm running statistics away from their initial values
            discrete(torch.randn(16, 3, 8, 8))
    search = Nb201SearchNetwork(3, 10, channels=8, cells_per_stage=2)
    _copy_weights(discrete, search)
    with torch.no_grad():
        one_hot = torch.zeros(len(EDGES), len(OPS))
        one_hot[torch.arange(len(EDGES)), torch.tensor([OPS.index(op) for op in cell.ops])] = 1.0
        search.alpha_cell.copy_(one_hot.log())  # softmax(log one-hot) is exactly one-hot
    discrete.eval()
    search.eval()
    x = torch.randn(4, 3, 8, 8)
    expected = discrete(x)
    torch.testing.assert_close(search(x), expected)
    torch.testing.assert_close(search.forward_genotype(x, cell), expected)
    assert search.genotype() == cell


def test_derive_is_the_argmax_of_every_edge_none_included() -> None:
    rng = np.random.default_rng(0)
    weights = rng.random((len(EDGES), len(OPS)))
    weights[0, OPS.index("none")] = 5.0  # `none` is a legal operation of the benchmark
    cell = derive_cell(weights)
    assert isinstance(cell, Nb201Cell) and cell.ops[0] == "none"
    assert cell.ops == tuple(OPS[int(i)] for i in weights.argmax(axis=1))
    net = Nb201SearchNetwork(3, 10, channels=4, cells_per_stage=1, channel_fraction=2, edge_norm=True)
    with torch.no_grad():
        net.alpha_cell.copy_(torch.tensor(weights, dtype=torch.float32))
        net.beta_cell.copy_(torch.randn(len(EDGES)))  # a positive scale per edge: the argmax stays
    assert net.genotype() == cell
    assert net.arch_metrics()["arch"] == cell.arch_str


def test_edge_normalisation_is_a_softmax_per_node() -> None:
    assert [e for edges in NODE_EDGES for e in edges] == list(range(len(EDGES)))
    net = Nb201SearchNetwork(3, 10, channels=4, cells_per_stage=1, edge_norm=True)
    weights = net.edge_weights()
    assert weights is not None
    for edges in NODE_EDGES:
        assert float(weights[list(edges)].sum().detach()) == pytest.approx(1.0)
    assert len(net.arch_parameters()) == 2 and net.arch_parameters()[1] is net.beta_cell


def test_soft_prune_keeps_the_top_k_and_paths_are_cells() -> None:
    weights = np.tile(np.arange(len(OPS), dtype=float), (len(EDGES), 1))  # avg_pool > nor_conv_3x3 > ...
    pruned = soft_prune_cell(weights, k=2)
    assert pruned.k == 2 and len(pruned.slots) == len(EDGES)
    assert pruned.kept[0] == ("avg_pool_3x3", "nor_conv_3x3")
    assert pruned.genotype([0] * 6) == derive_cell(weights)
    assert pruned.genotype([1, 0, 0, 0, 0, 0]).ops[0] == "nor_conv_3x3"
    assert type(pruned).from_json(pruned.to_json()) == pruned
    with pytest.raises(ValueError, match="k must be"):
        soft_prune_cell(weights, k=6)
