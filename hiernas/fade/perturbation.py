"""Perturbation scores of the cells (DARTS-PT: Wang et al., "Rethinking Architecture Selection in
Differentiable NAS", 2021): how much the trained hyper-architecture's validation accuracy falls, and its
loss rises, when one candidate is taken out of its row's mixture.

Why: summed along a path, log alpha lets the rows whose alpha moved most decide the rank, and on digits
those were not the rows that matter stand-alone (README, "Rank validation"). A removal score is in the
same units in every row, so a row whose cells the network barely tells apart has little say.

Two scores come from the same evaluations: the accuracy drop (DARTS-PT's own measure, ``perturbation``)
and the loss rise (``perturbation_loss``; on a validation part of a few hundred images accuracy moves in
steps of 1/n, the loss does not, so repeats agree more). Deviations from DARTS-PT, each for a reason:
- The network is not fine-tuned between decisions: every cell of every row is scored on the same trained
  network, so scoring costs ``depth * window + 1`` evaluations, linear in depth as FaDE promises.
- The other candidates of the row are renormalised to sum to 1, and BatchNorm uses batch statistics: the
  last row feeds the head directly, so a removal that also shrank the row's output (by its alpha) would
  score alpha's size, not the cell (measured on digits: renormalising raised rho against the converged
  stand-alone accuracies); running statistics were gathered on the unperturbed mixture.
- It mixes softmax(alpha) in every choice mode. In hard Gumbel mode the network never ran that mixture;
  the scores were measured in softmax mode only.

In hard Gumbel mode the removal's single-path form needs no code of its own: it is the path-wise score
(``rank="pathwise"``, ``hiernas.fade.ranks.pathwise_alpha``). Over paths drawn uniformly, with m_ik the
mean accuracy of the scored paths through cell k of row i and M_i the row's mean, the accuracy of the
paths that avoid cell k falls short of all paths' by (m_ik - M_i) / (window - 1) (exactly when every
cell is on equally many scored paths). Summed along a path, that orders paths as the summed m_ik do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import TensorDataset

from hiernas.device import FLOAT32, Precision
from hiernas.fade.hypernet import HyperNet
from hiernas.fade.ranks import score_alpha
from hiernas.scoring import evaluate

# score difference per factor e between two cells' weights in the rank matrices (any positive value keeps
# the path order; it sets how far FaDE's anchor steps on a given difference)
ACCURACY_TEMPERATURE = 0.01
LOSS_TEMPERATURE = 0.05


@dataclass(frozen=True)
class RemovalScores:
    """Per cell ``(depth, window)``: the validation accuracy drop and loss rise when it leaves its row's
    mixture; higher means the cell matters more."""

    accuracy_drop: np.ndarray
    loss_rise: np.ndarray

    def metrics(self) -> dict[str, list[list[float]]]:
        """What a trial reports: each score and its rank matrix in alpha's form."""
        return {
            "perturbation": self.accuracy_drop.tolist(),
            "perturbation_alpha": score_alpha(self.accuracy_drop, ACCURACY_TEMPERATURE),
            "perturbation_loss": self.loss_rise.tolist(),
            "perturbation_loss_alpha": score_alpha(self.loss_rise, LOSS_TEMPERATURE),
        }


def removal_weights(probs: Tensor, row: int, candidate: int) -> Tensor:
    """``probs`` (``depth x window``, rows summing to 1) with ``candidate`` of ``row`` taken out and the rest
    of that row renormalised to sum to 1."""
    weights = probs.clone()
    weights[row, candidate] = 0.0
    weights[row] = weights[row] / weights[row].sum().clamp_min(torch.finfo(weights.dtype).tiny)
    return weights


def removal_scores(model: HyperNet, dataset: TensorDataset, batch_size: int, device: torch.device,
                   precision: Precision = FLOAT32) -> RemovalScores:
    """Score every cell by the softmax(alpha) mixture without it against the whole mixture, both evaluated
    on ``dataset`` with batch statistics."""
    probs = F.softmax(model.alpha.detach(), dim=1)  # (depth, window)

    def mixture(weights: Tensor) -> tuple[float, float]:
        # batch statistics: the running ones describe the unperturbed mixture only
        forward = precision.forward(lambda x: model.forward_mixture(x, weights))
        return evaluate(model, dataset, batch_size, device, forward, batch_stats=True)

    depth, window = probs.shape
    whole_loss, whole_acc = mixture(probs)
    removed = [[mixture(removal_weights(probs, i, k)) for k in range(window)] for i in range(depth)]
    losses = np.array([[loss for loss, _ in row] for row in removed], dtype=np.float64)
    accs = np.array([[acc for _, acc in row] for row in removed], dtype=np.float64)
    return RemovalScores(accuracy_drop=whole_acc - accs, loss_rise=losses - whole_loss)
