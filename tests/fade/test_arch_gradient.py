"""The architecture gradient of every choice mode reaches every row, and learns a planted winner.

Hard Gumbel's straight-through gradient reaches alpha only as the scale of the sampled cell's output,
which the next row's BatchNorm cancels: only the last row learns. The score-function estimator (the
default) gives every row a gradient that follows the loss of the paths it takes part in.
"""

from __future__ import annotations

import pytest
import torch

from hiernas.bilevel import Architect, BilevelSettings
from hiernas.datasets import make_synthetic
from hiernas.fade.config import ModelConfig
from hiernas.fade.hypernet import HyperNet
from spaces.dag import DagCell

CELL = DagCell(2, ((0, 1),))
DEPTH, WINDOW, WINNER = 3, 3, 1


def _net(mode: str, gradient: str = "reinforce", seed: int = 0) -> HyperNet:
    torch.manual_seed(seed)
    cfg = ModelConfig(depth=DEPTH, window=WINDOW, choice_mode=mode, arch_gradient=gradient, kernel_size=3,
                      final_channels=8, min_channels=8, temperature=1.0)
    return HyperNet([[CELL] * WINDOW] * DEPTH, cfg, in_channels=3, num_classes=4, input_size=8, arch_samples=4)


def _batch(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    data = make_synthetic(n, (3, 8, 8), 4, seed=1)
    return data.images, data.labels


def _row_grad_norms(net: HyperNet) -> list[float]:
    net.alpha.grad = None
    objective, _ = net.arch_objective(*_batch())
    objective.backward()
    assert net.alpha.grad is not None
    return net.alpha.grad.abs().sum(dim=1).tolist()


def test_score_function_gives_every_row_a_gradient_in_hard_mode() -> None:
    norms = _row_grad_norms(_net("gumbel_hard"))
    assert all(norm > 1e-4 for norm in norms), norms


def test_straight_through_reaches_only_the_last_row() -> None:
    """The paper's literal form, kept selectable: BatchNorm cancels the scale alpha acts through."""
    norms = _row_grad_norms(_net("gumbel_hard", "straight_through"))
    assert norms[-1] > 1e-4 and max(norms[:-1]) < 1e-3 * norms[-1], norms


def _plant_noise_losers(net: HyperNet) -> None:
    """Every candidate but ``WINNER`` in each row outputs noise of its output's shape: useless, not zero."""
    generator = torch.Generator().manual_seed(2)
    for row in net.rows:
        for j, cell in enumerate(row.candidates):
            if j != WINNER:
                cell.register_forward_hook(lambda _m, _i, out: torch.randn(out.shape, generator=generator))


@pytest.mark.parametrize("mode", ["softmax", "gumbel_soft", "gumbel_hard"])
def test_each_mode_ranks_a_planted_winner_first_in_every_row(mode: str) -> None:
    net = _net(mode, seed=3)
    _plant_noise_losers(net)
    weights = torch.optim.Adam(net.weight_parameters(), lr=3e-3)
    arch = torch.optim.Adam(net.arch_parameters(), lr=3e-2, betas=(0.5, 0.999))
    architect = Architect(net, weights, arch, BilevelSettings())
    x, y = _batch(256)
    generator = torch.Generator().manual_seed(4)
    for step in range(150):
        index = torch.randint(len(y), (32,), generator=generator)
        val = torch.randint(len(y), (32,), generator=generator)
        architect.arch_step((x[index], y[index]), (x[val], y[val]), step, 150)
        architect.weight_step((x[index], y[index]))
    assert net.alpha.argmax(dim=1).tolist() == [WINNER] * DEPTH, net.alpha.detach()
