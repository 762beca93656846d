"""``HyperNet``: ``depth`` rows of ``window`` candidate cells, one architecture weight per candidate.

Row i mixes its candidates through one ``MixedChoice``; alpha in R^{depth x window} (``alpha_init_scale``
times a standard normal; FaDE section 3: scale 1) sets the mixing. Between rows the channels about double
towards ``final_channels`` (``ModelConfig.row_channels``) and the feature map is pooled by 2 while the
pooled map stays at least ``kernel_size`` wide, so no row runs its convolutions on maps smaller than the
kernel (8x8 digits with 5x5 kernels: every row at 8x8; 32x32 images: 32, 16, 8, 8, ...). With
``pool_to_kernel=False`` it pools while the map is larger than 1x1, as the first version did.

Hard Gumbel (FaDE's setting) runs one sampled cell per row. Its straight-through gradient (the paper's
form, ``arch_gradient="straight_through"``) reaches alpha only as the scale of the sampled cell's output,
and every consumer of a row's output but the last is a convolution followed by BatchNorm, which cancels
that scale: only the last row's alpha learns (a sum of several candidates, as on a DARTS edge, would not
have this problem). The default ``arch_gradient="reinforce"`` therefore gives the architecture step a
score-function gradient instead (``arch_objective``): a few sampled paths, each path's loss against the
others' mean as baseline, so every row's alpha follows the loss of the paths it takes part in, and a
step still costs a few forward passes of one path.

The candidates are cells of ``ModelConfig.space`` (DAG cells, NAS-Bench-201 cells or DARTS genotypes),
built by ``hiernas.fade.candidates``. Weight sharing per row (``share_weights=True``): all candidates of a
row draw on one bank; for DAG cells its convolutions are keyed by edge slot ``u->v`` (inner vertex indices
of the canonical topological labelling, ``v = out`` for the edge from a sink to the output vertex) with one
shared input projection, so two cells that both have an edge 0->2 train the same convolution; for
NAS-Bench-201 cells by (edge, operation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hiernas.fade.candidates import candidate_factory
from hiernas.fade.config import ModelConfig
from hiernas.mixed import ChoiceMode, MixedChoice, gumbel_softmax_sample, mixing_weights


@dataclass(frozen=True)
class MaxNormRegulariser:
    """FaDE: max-norm of the Gumbel-softmaxed alpha per row, weighted by a linearly decreasing scalar.

    A positive weight penalises peaked rows (no early convergence); as it falls (below zero by default)
    convergence is pushed in later steps. ``row_scale[i]`` scales row i (deeper rows learn slower).
    """

    start: float = 0.1
    end: float = -0.1
    row_scale: tuple[float, ...] = ()

    def weight(self, step: int, total_steps: int) -> float:
        if total_steps <= 1:
            return self.start
        frac = min(max(step / (total_steps - 1), 0.0), 1.0)
        return self.start + frac * (self.end - self.start)


def _pool(kind: str) -> nn.Module:
    if kind == "max":
        return nn.MaxPool2d(2)
    if kind == "avg":
        return nn.AvgPool2d(2)
    return nn.Identity()


class HyperNet(nn.Module):
    """The FaDE hyper-architecture ``H in S^{d x w}`` as one trainable network.

    Every row's output goes into the next row's convolutions and BatchNorm, which cancel its scale; only
    the last row's goes to the linear head, so only there can alpha lower the loss by moving weight to the
    candidate with the largest output. ``model.head_norm`` puts a BatchNorm without affine parameters
    before the head to close that path (measured on digits: the last row's alpha then stops singling out
    one candidate in every repeat, and each row's alpha orders its cells more like their stand-alone
    effect; see README, "Rank validation").

    Args:
        cells: ``cells[i][j]`` is candidate j of row i (all rows the same length).
        model: shape and mixing settings.
        in_channels, num_classes, input_size: the data's channels, classes and image side.
        regulariser: the alpha max-norm regulariser (None: no penalty).
        generator: source of the initial architecture weights (None: torch's global generator); the
            module weights use torch's global generator, as ``SearchNetwork``'s do.
        arch_samples: paths per architecture step of the score-function estimator (>= 2).
    """

    def __init__(
        self,
        cells: Sequence[Sequence[Any]],
        model: ModelConfig,
        in_channels: int,
        num_classes: int,
        input_size: int,
        regulariser: MaxNormRegulariser | None = None,
        generator: torch.Generator | None = None,
        arch_samples: int = 2,
    ) -> None:
        super().__init__()
        if len(cells) != model.depth or any(len(row) != model.window for row in cells):
            raise ValueError(
                f"cells must be {model.depth} rows of {model.window}, got {[len(r) for r in cells]}"
            )
        self.config = model
        self.mode = ChoiceMode(model.choice_mode)
        self.temperature = model.temperature
        self.regulariser = regulariser
        if arch_samples < 2:
            raise ValueError(f"arch_samples must be >= 2 (leave-one-out baseline), got {arch_samples}")
        self.arch_samples = arch_samples
        self.cells = [list(row) for row in cells]
        alpha = model.alpha_init_scale * torch.randn(model.depth, model.window, generator=generator)
        self.alpha = nn.Parameter(alpha)  # (depth, window)
        self.pools = nn.ModuleList()
        self.rows = nn.ModuleList()
        self.banks = nn.ModuleList()  # per-row shared convolutions (empty modules when not sharing)
        size, channels_in = input_size, in_channels
        factory = candidate_factory(model)
        for i, channels in enumerate(model.row_channels()):
            smallest = model.kernel_size if model.pool_to_kernel else 1
            pool = i > 0 and model.pooling != "none" and size // 2 >= smallest and size > 1
            self.pools.append(_pool(model.pooling) if pool else nn.Identity())
            size = size // 2 if pool else size
            bank = factory.shared_bank(cells[i], channels_in, channels)
            self.banks.append(bank)
            candidates = [factory.module(cell, channels_in, channels, bank) for cell in cells[i]]
            self.rows.append(MixedChoice(candidates))
            channels_in = channels
        self.head_norm: nn.Module = nn.BatchNorm1d(channels_in, affine=False) if model.head_norm else nn.Identity()
        self.head = nn.Linear(channels_in, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        """Kaiming initialisation of every convolution and the head (FaDE section 3)."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alpha]

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if name != "alpha"]

    def forward(self, x: Tensor) -> Tensor:
        """Mix every row by its architecture weights (in hard mode only the sampled cell runs)."""
        for i, row in enumerate(self.rows):
            x = self.pools[i](x)
            mixing = mixing_weights(self.alpha[i], self.mode, self.temperature)
            x = row(x, mixing.weights, mixing.index)  # (B, C_i, H_i, W_i)
        return self.classify(x)

    def classify(self, x: Tensor) -> Tensor:
        """The logits of the last row's feature maps: global average pooling, ``head_norm``, the head."""
        return self.head(self.head_norm(F.adaptive_avg_pool2d(x, 1).flatten(1)))

    def forward_path(self, x: Tensor, path: Sequence[int]) -> Tensor:
        """Run one discrete path (candidate ``path[i]`` in row i) with weight 1, alpha unused."""
        for i, row in enumerate(self.rows):
            x = self.pools[i](x)
            x = cast(MixedChoice, row).candidates[int(path[i])](x)
        return self.classify(x)

    def forward_mixture(self, x: Tensor, weights: Tensor) -> Tensor:
        """Mix every candidate of row i with ``weights[i]`` (a ``depth x window`` tensor), alpha unused: the
        perturbed mixtures of ``hiernas.fade.perturbation``."""
        for i, row in enumerate(self.rows):
            x = self.pools[i](x)
            x = row(x, weights[i])
        return self.classify(x)

    def sample_paths(self, count: int) -> list[list[int]]:
        """``count`` paths drawn from softmax(alpha) row by row (hard Gumbel's sampling distribution)."""
        probs = F.softmax(self.alpha.detach(), dim=1)  # (depth, window)
        return torch.multinomial(probs, count, replacement=True).t().tolist()  # count x depth

    def arch_objective(self, x: Tensor, y: Tensor) -> tuple[Tensor, float]:
        """What the architecture step minimises on the batch ``(x, y)``, and the batch's mean loss.

        Softmax, soft Gumbel and straight-through hard Gumbel: the cross-entropy itself. Hard Gumbel with
        ``arch_gradient="reinforce"``: the score-function (REINFORCE) surrogate of ``arch_samples`` paths drawn
        from softmax(alpha), each path's loss minus the mean loss of the other paths (leave-one-out
        baseline, unbiased) times the log-probability of that path; the paths run without gradients,
        with batch statistics as in training.
        """
        if not self.config.score_function:
            loss = F.cross_entropy(self(x), y)
            return loss, float(loss.item())
        paths = self.sample_paths(self.arch_samples)
        with torch.no_grad():
            losses = torch.stack([F.cross_entropy(self.forward_path(x, path), y) for path in paths])  # (S,)
        baseline = (losses.sum() - losses) / (len(paths) - 1)  # (S,), leave-one-out
        log_p = F.log_softmax(self.alpha, dim=1)  # (depth, window)
        rows = torch.arange(self.config.depth, device=log_p.device)
        index = torch.tensor(paths, device=log_p.device)  # (S, depth)
        path_log_p = log_p[rows.unsqueeze(0), index].sum(dim=1)  # (S,)
        return ((losses - baseline) * path_log_p).mean(), float(losses.mean().item())

    def arch_penalty(self, step: int, total_steps: int) -> Tensor | float:
        """The FaDE max-norm regulariser on the Gumbel-softmaxed alpha (0 when disabled)."""
        if self.regulariser is None:
            return 0.0
        weight = self.regulariser.weight(step, total_steps)
        if weight == 0.0:
            return 0.0
        sample = gumbel_softmax_sample(self.alpha, self.temperature)  # (depth, window)
        row_max = sample.max(dim=1).values  # (depth,)
        scale = self.regulariser.row_scale or (1.0,) * self.config.depth
        scale_t = torch.tensor(scale, dtype=row_max.dtype, device=row_max.device)
        return weight * (scale_t * row_max).sum()

    def export_probs(self) -> list[list[float]]:
        """Softmaxed alpha as a depth x window list (what trials report)."""
        return F.softmax(self.alpha.detach(), dim=1).cpu().tolist()
