"""Perturbation scores (DARTS-PT): the loss rise when a cell leaves its row's mixture."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from hiernas.fade.config import ModelConfig
from hiernas.fade.hypernet import HyperNet
from hiernas.fade.perturbation import removal_scores, removal_weights
from hiernas.fade.ranks import all_log_ranks, log_probs, score_alpha
from spaces.dag import DagSpace


def test_removal_takes_one_cell_out_and_renormalises_only_its_row() -> None:
    probs = torch.tensor([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])
    weights = removal_weights(probs, 1, 2)
    assert torch.allclose(weights[0], probs[0])
    assert torch.allclose(weights[1], torch.tensor([0.5, 0.5, 0.0]))
    assert torch.allclose(probs[1, 2], torch.tensor(0.6))  # the input is not changed


def test_the_rank_matrix_orders_paths_by_their_summed_scores() -> None:
    scores = np.array([[0.02, -0.01, 0.30], [0.10, 0.00, 0.05]])
    rows = np.asarray(score_alpha(scores, 0.05))
    assert rows.shape == (2, 3) and np.allclose(rows.sum(axis=1), 1.0)
    summed = np.add.outer(scores[0], scores[1]).reshape(-1)
    assert np.array_equal(np.argsort(all_log_ranks(log_probs(rows))), np.argsort(summed))


class Copy(nn.Module):
    """A planted cell that passes its input's first channels on (zeros in the rest): it carries the signal."""

    def __init__(self, out_channels: int) -> None:
        super().__init__()
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        kept = x[:, : self.out_channels]
        return F.pad(kept, (0, 0, 0, 0, 0, self.out_channels - kept.shape[1]))


class Blank(Copy):
    """A planted cell that outputs zeros: it carries nothing."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.zeros_like(super().forward(x))


def planted_net(winners: list[int]) -> tuple[HyperNet, TensorDataset]:
    """A 3 x 3 HyperNet whose only useful cell in row i is ``winners[i]``, its head fitted to the mixture;
    the class is which of the input's 3 channels is bright."""
    torch.manual_seed(0)
    model_cfg = ModelConfig(depth=3, window=3, final_channels=4, min_channels=4, kernel_size=3, pooling="none")
    space = DagSpace(4)
    cells = [[space.sample(np.random.default_rng(i * 3 + j)) for j in range(3)] for i in range(3)]
    net = HyperNet(cells, model_cfg, in_channels=3, num_classes=3, input_size=4)
    for i, row in enumerate(net.rows):
        channels = model_cfg.row_channels()[i]
        row.candidates = nn.ModuleList([Copy(channels) if j == winners[i] else Blank(channels) for j in range(3)])
    labels = torch.arange(96) % 3
    images = 0.1 * torch.rand(96, 3, 4, 4) + F.one_hot(labels, 3).float()[:, :, None, None]
    head = torch.optim.Adam(net.head.parameters(), lr=0.1)
    probs = F.softmax(net.alpha.detach(), dim=1)
    for _ in range(100):
        head.zero_grad()
        F.cross_entropy(net.forward_mixture(images, probs), labels).backward()
        head.step()
    return net, TensorDataset(images, labels)


@pytest.mark.parametrize("winners", [[0, 1, 2], [2, 2, 0]])
def test_the_planted_cell_of_every_row_scores_highest(winners: list[int]) -> None:
    net, data = planted_net(winners)
    net.eval()
    before = {name: b.clone() for name, b in net.named_buffers()}
    scores = removal_scores(net, data, 32, torch.device("cpu"))
    loss, acc = scores.loss_rise, scores.accuracy_drop
    assert loss.shape == acc.shape == (3, 3)
    assert [int(np.argmax(row)) for row in loss] == [int(np.argmax(row)) for row in acc] == winners
    for i in range(3):
        assert loss[i, winners[i]] > 0.3  # without it the row carries nothing: the loss rises ...
        assert acc[i, winners[i]] > 0.5  # ... and the accuracy falls to chance
        # without a blank the carrier gets its weight (the row is renormalised): the loss falls
        assert all(loss[i, j] < 0 for j in range(3) if j != winners[i])
    reported = scores.metrics()
    assert reported["perturbation"] == acc.tolist() and reported["perturbation_loss"] == loss.tolist()
    assert np.allclose(np.sum(reported["perturbation_alpha"], axis=1), 1.0)
    assert not net.training  # the mode is put back
    assert all(torch.equal(before[name], b) for name, b in net.named_buffers())  # running statistics kept
