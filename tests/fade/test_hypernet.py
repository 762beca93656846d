"""DAG cells as modules and the HyperNet: shapes, one computed path in hard mode, weight sharing."""

from __future__ import annotations

import pytest
import torch

from hiernas.fade.cells import DagCellModule, build_cell, cell_edge_slots
from hiernas.fade.config import ModelConfig
from hiernas.fade.hypernet import HyperNet, MaxNormRegulariser
from spaces.dag import DagCell

CELLS = [
    DagCell(1, ()),
    DagCell(2, ()),
    DagCell(2, ((0, 1),)),
    DagCell(3, ((0, 1), (1, 2))),
    DagCell(4, ((0, 1), (0, 2), (1, 3), (2, 3))),
    DagCell(5, ((0, 2), (1, 2), (2, 3), (2, 4))),
]


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: f"n{c.num_vertices}e{len(c.edges)}")
def test_cell_output_shape_and_conv_count(cell: DagCell) -> None:
    module = DagCellModule(cell, in_channels=3, channels=8, kernel_size=5)
    out = module(torch.randn(2, 3, 6, 6))
    assert out.shape == (2, 8, 6, 6)
    convs = [m for m in module.edges.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == len(cell_edge_slots(cell))  # one conv per inner edge and per sink->output edge
    assert all(c.kernel_size == (5, 5) for c in convs)


def test_cell_from_json_matches_cell() -> None:
    module = build_cell({"n": 3, "edges": [[0, 1], [1, 2]]}, 1, 4, kernel_size=3)
    assert module.cell == DagCell(3, ((0, 1), (1, 2)))


def _hypernet(mode: str, window: int = 4, depth: int = 3, share: bool = False, head_norm: bool = False) -> HyperNet:
    cells = [[CELLS[(i + j) % len(CELLS)] for j in range(window)] for i in range(depth)]
    cfg = ModelConfig(depth=depth, window=window, choice_mode=mode, final_channels=16, kernel_size=3,
                      share_weights=share, head_norm=head_norm)
    return HyperNet(cells, cfg, in_channels=1, num_classes=10, input_size=8, regulariser=MaxNormRegulariser())


def _count_cell_calls(net: HyperNet) -> list[list[int]]:
    counts = [[0] * len(row) for row in net.rows]
    for i, row in enumerate(net.rows):
        for j, cell in enumerate(row.candidates):
            def hook(*_: object, i: int = i, j: int = j) -> None:
                counts[i][j] += 1
            cell.register_forward_hook(hook)
    return counts


def test_hard_gumbel_computes_one_candidate_per_row() -> None:
    torch.manual_seed(0)
    net = _hypernet("gumbel_hard")
    counts = _count_cell_calls(net)
    logits = net(torch.randn(4, 1, 8, 8))
    assert logits.shape == (4, 10)
    assert [sum(row) for row in counts] == [1, 1, 1]
    logits.sum().backward()
    assert net.alpha.grad is not None and torch.count_nonzero(net.alpha.grad) > 0


@pytest.mark.parametrize("head_norm", [False, True])
def test_head_norm_takes_the_scale_path_from_the_last_rows_alpha(head_norm: bool) -> None:
    """Without it, scaling the last row's output scales the logits (alpha can lower the loss that way, and
    only in the last row); with it, the loss does not see the scale."""
    torch.manual_seed(0)
    net = _hypernet("softmax", head_norm=head_norm).train()
    features = torch.randn(8, 16, 2, 2)
    y = torch.randint(0, 10, (8,))
    base = torch.nn.functional.cross_entropy(net.classify(features), y)
    scaled = torch.nn.functional.cross_entropy(net.classify(3.0 * features), y)
    assert torch.isclose(base, scaled, atol=1e-4).item() is head_norm


def test_standalone_paths_train_without_the_search_only_head_norm() -> None:
    from hiernas.fade.config import TrialConfig
    from hiernas.fade.standalone import standalone_config

    base = TrialConfig(model=ModelConfig(depth=2, window=3, head_norm=True))
    assert standalone_config(base, [{"n": 1, "edges": []}] * 2).model.head_norm is False


def test_softmax_computes_every_candidate() -> None:
    net = _hypernet("softmax")
    counts = _count_cell_calls(net)
    net(torch.randn(2, 1, 8, 8))
    assert counts == [[1] * 4] * 3


def _row_shapes(net: HyperNet, size: int) -> list[tuple[int, ...]]:
    shapes = []
    x = torch.randn(2, 1, size, size)
    for i, row in enumerate(net.rows):
        x = row(net.pools[i](x), torch.full((len(row),), 1.0 / len(row)))
        shapes.append(tuple(x.shape[1:]))
    return shapes


def test_channels_double_and_maps_halve_between_rows_while_the_kernel_fits() -> None:
    cfg = ModelConfig(depth=4, window=2, final_channels=32)
    assert cfg.row_channels() == [4, 8, 16, 32]
    net = _hypernet("softmax", window=2, depth=4)  # 3x3 kernels: 8 -> 4, and 2 < 3 is never reached
    assert _row_shapes(net, 8) == [(4, 8, 8), (4, 4, 4), (8, 4, 4), (16, 4, 4)]  # min_channels=4 floors row 0
    old = HyperNet([[CELLS[0]] * 2] * 4, net.config.replace(pool_to_kernel=False), 1, 10, 8)
    assert _row_shapes(old, 8) == [(4, 8, 8), (4, 4, 4), (8, 2, 2), (16, 1, 1)]  # the first version's schedule


@pytest.mark.parametrize(
    "size,kernel,expected", [(8, 5, [8, 8, 8, 8]), (32, 5, [32, 16, 8, 8]), (32, 3, [32, 16, 8, 4])]
)
def test_no_row_runs_on_maps_smaller_than_its_kernel(size: int, kernel: int, expected: list[int]) -> None:
    cfg = ModelConfig(depth=4, window=1, kernel_size=kernel, final_channels=8)
    net = HyperNet([[CELLS[0]]] * 4, cfg, 1, 10, size)
    assert [shape[-1] for shape in _row_shapes(net, size)] == expected


def test_weight_sharing_shares_edge_slots_within_a_row_only() -> None:
    shared = _hypernet("softmax", share=True)
    separate = _hypernet("softmax", share=False)
    n_shared = sum(p.numel() for p in shared.weight_parameters())
    n_separate = sum(p.numel() for p in separate.weight_parameters())
    assert n_shared < n_separate
    row = shared.rows[0]
    a, b = row.candidates[0], row.candidates[1]
    common = set(a.edges) & set(b.edges)
    assert common and all(a.edges[k] is b.edges[k] for k in common)
    assert a.input_projection is b.input_projection
    assert shared.rows[1].candidates[0].input_projection is not a.input_projection


def test_forward_path_and_regulariser() -> None:
    net = _hypernet("gumbel_hard")
    assert net.forward_path(torch.randn(2, 1, 8, 8), [0, 1, 2]).shape == (2, 10)
    penalty_start = net.arch_penalty(0, 10)
    penalty_end = net.arch_penalty(9, 10)
    assert isinstance(penalty_start, torch.Tensor) and penalty_start.item() > 0
    assert isinstance(penalty_end, torch.Tensor) and penalty_end.item() < 0
    penalty_start.backward()
    assert net.alpha.grad is not None


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="rows"):
        HyperNet([[CELLS[0]]], ModelConfig(depth=2, window=1), 1, 10, 8)
    with pytest.raises(ValueError, match="depth"):
        ModelConfig(depth=0)


def test_equal_params_gives_cells_of_different_sizes_about_the_same_weights() -> None:
    graphs = [CELLS[0], CELLS[1], CELLS[3], CELLS[4]]  # 1, 2, 3 and 5 convolutions
    cfg = ModelConfig(depth=1, window=len(graphs), final_channels=16, kernel_size=5, equal_params_convs=3)
    net = HyperNet([graphs], cfg, in_channels=16, num_classes=10, input_size=8)
    counts = [sum(p.numel() for p in cell.parameters()) for cell in net.rows[0].candidates]
    assert max(counts) / min(counts) < 1.15, counts  # widths are whole channels
    plain = HyperNet([graphs], cfg.replace(equal_params_convs=0), in_channels=16, num_classes=10, input_size=8)
    plain_counts = [sum(p.numel() for p in cell.parameters()) for cell in plain.rows[0].candidates]
    assert max(plain_counts) / min(plain_counts) > 4  # without it they differ with their convolutions
    assert net(torch.randn(2, 16, 8, 8)).shape == (2, 10)
    with pytest.raises(ValueError, match="share_weights"):
        ModelConfig(equal_params_convs=3, share_weights=True)
