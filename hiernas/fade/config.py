"""The FaDE trial's configuration: the hyper-architecture's shape, its bilevel training, and the whole
trial (seed, data, model, training, cells) that Ray Tune passes to ``hyper_trainable`` as one dict.

``TrialConfig.to_dict()`` is ``{"seed", "data", "model", "train", "cells"}``; a searcher's ``suggest()``
fills ``cells`` and ``seed`` and Tune deep-merges them over the constant rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hiernas.config import ConfigBase, DataConfig, check_amp
from spaces.registry import SPACE_NAMES

CHOICE_MODES = ("softmax", "gumbel_hard", "gumbel_soft")
# how hard Gumbel's architecture step gets its gradient (see hiernas.fade.hypernet.HyperNet.arch_objective)
ARCH_GRADIENTS = ("reinforce", "straight_through")
# Upper bounds of the hyper-architecture's shape. They are not tied to the input size: rows stop pooling
# once the map is 1x1, so any depth builds on any input. They bound cost: one step costs about one path
# per row, so depth 16 is about 4x the default depth 4, and a row of 32 candidates already spans far more
# of a cell space than the anchor's neighbourhood FaDE probes (2 x 3 features).
MAX_DEPTH = 16
MAX_WINDOW = 32


@dataclass(frozen=True)
class ModelConfig(ConfigBase):
    """Shape of the hyper-architecture: ``depth`` rows of ``window`` cells of ``space`` (FaDE section 3 defaults)."""

    depth: int = 4
    window: int = 6
    kernel_size: int = 5  # FaDE: 5x5 convolutions on every inner edge
    final_channels: int = 32  # FaDE: "16 or 32 in the final cell", doubling row to row before it
    min_channels: int = 4  # channel floor for shallow rows of deep networks
    pooling: str = "max"  # max | avg | none: downsampling between rows (halves H and W)
    pool_to_kernel: bool = True  # pool only while the pooled map keeps >= kernel_size; False: while > 1
    batch_norm: bool = True  # BatchNorm after every edge convolution
    choice_mode: str = "gumbel_hard"  # softmax (DARTS) | gumbel_hard (GDAS/FaDE) | gumbel_soft (SNAS)
    temperature: float = 10.0  # FaDE: Gumbel-softmax temperature 10
    share_weights: bool = False  # share convolutions per row by edge slot (see hiernas.fade.hypernet)
    # alpha starts at scale * N(0, 1). FaDE: 1 (standard normal); measured on the rank validation (digits,
    # softmax, 2 repeats), 1e-3 (as DARTS) raised the agreement of the ranks between repeats from 0.29 to
    # 0.65: with scale 1 the ranks mostly keep their random initial order
    alpha_init_scale: float = 1e-3
    # > 0: every cell gets about the weights of this many convolutions at its row's width (FaDE 3.1: the
    # DAGs of the rank validation hold equal weights), by widening or narrowing inside the cell
    equal_params_convs: int = 0
    arch_gradient: str = "reinforce"  # hard Gumbel only: reinforce (score function) | straight_through (paper)
    # BatchNorm (no affine) on the pooled features before the linear head, so the last row's alpha cannot
    # buy a lower loss by scaling the logits (the other rows feed BatchNorm already): see HyperNet
    head_norm: bool = False
    space: str = "dag"  # the cells' space: dag | nb201 | darts (hiernas.fade.candidates)

    def __post_init__(self) -> None:
        if not 1 <= self.depth <= MAX_DEPTH:
            raise ValueError(f"depth must be in 1..{MAX_DEPTH}, got {self.depth}")
        if not 1 <= self.window <= MAX_WINDOW:
            raise ValueError(f"window must be in 1..{MAX_WINDOW}, got {self.window}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number, got {self.kernel_size}")
        if self.final_channels < 1 or self.min_channels < 1:
            raise ValueError("final_channels and min_channels must be >= 1")
        if self.pooling not in ("max", "avg", "none"):
            raise ValueError(f"pooling must be max, avg or none, got {self.pooling!r}")
        if self.choice_mode not in CHOICE_MODES:
            raise ValueError(f"choice_mode must be one of {list(CHOICE_MODES)}, got {self.choice_mode!r}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.equal_params_convs < 0 or (self.equal_params_convs and self.share_weights):
            raise ValueError("equal_params_convs must be >= 0 and cannot be combined with share_weights")
        if self.alpha_init_scale < 0:
            raise ValueError(f"alpha_init_scale must be >= 0, got {self.alpha_init_scale}")
        if self.space not in SPACE_NAMES:
            raise ValueError(f"space must be one of {list(SPACE_NAMES)}, got {self.space!r}")
        if self.equal_params_convs and self.space != "dag":
            raise ValueError("equal_params_convs applies to DAG cells only")
        if self.share_weights and self.space == "darts":
            raise ValueError("share_weights is not available for DARTS genotypes")
        if self.arch_gradient not in ARCH_GRADIENTS:
            raise ValueError(f"arch_gradient must be one of {list(ARCH_GRADIENTS)}, got {self.arch_gradient!r}")

    @property
    def score_function(self) -> bool:
        """Whether the architecture step uses the score-function estimator (hard Gumbel + reinforce)."""
        return self.choice_mode == "gumbel_hard" and self.arch_gradient == "reinforce"

    def row_channels(self) -> list[int]:
        """Channels per row: doubling towards ``final_channels`` in the last row."""
        return [
            max(self.min_channels, self.final_channels // (2 ** (self.depth - 1 - i)))
            for i in range(self.depth)
        ]


LR_SCHEDULES = ("constant", "cosine")


def scheduled_lr(base_lr: float, schedule: str, step: int, total_steps: int) -> float:
    """The weight learning rate at ``step`` of ``total_steps``: constant, or cosine from ``base_lr`` to 0."""
    if schedule == "constant" or total_steps <= 0:
        return base_lr
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))


@dataclass(frozen=True)
class TrainConfig(ConfigBase):
    """Bilevel training of the hyper-architecture (FaDE section 3 defaults, Adam for both levels)."""

    epochs: int = 5  # FaDE section 3.2: five epochs of hyper-architecture training per iteration
    weight_lr: float = 1e-3  # FaDE: Adam, learning rate 1e-3
    weight_betas: tuple[float, float] = (0.9, 0.999)  # FaDE prints (0.1, 1e-3), i.e. 1 - beta
    weight_eps: float = 1e-8
    weight_decay: float = 1e-4  # FaDE: weight decay 1e-4
    # constant (FaDE) | cosine: decayed to 0 over the trial's steps, as DARTS' final training does; stand-alone
    # trainings use cosine (hiernas.fade.standalone): a constant Adam step loses what a converged path learned
    weight_lr_schedule: str = "constant"
    grad_clip: float = 10.0  # FaDE: gradient clipping at 10 (absolute value)
    arch_lr: float = 3e-2  # constant (FaDE); larger than the weight lr so alpha moves in few epochs
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 0.0
    order: int = 1  # 1: first-order DARTS; 2: unrolled second-order step
    reg_start: float = 0.1  # weight of the max-norm regulariser at the first step ...
    reg_end: float = -0.1  # ... decreasing linearly to this at the last step
    reg_row_scale: tuple[float, ...] = ()  # optional per-row scale of the regulariser; () = all ones
    warmup_epochs: int = 0  # epochs with alpha frozen (weights only), as PC-DARTS does
    arch_every: int = 1  # one architecture step every ``arch_every`` weight steps
    arch_samples: int = 2  # paths sampled per architecture step by the score-function estimator
    amp: str = "off"  # mixed precision on CUDA: off | bf16 | fp16 (hiernas.device)
    top_k: int = 5  # number of top paths reported per epoch
    # DARTS-PD stages after the DARTS epochs (all off by default):
    prune_k: int = 0  # soft pruning: keep the top-k candidates per row by alpha (0 = no pruning)
    fair_epochs: int = 0  # path-wise strict-fair training epochs of the pruned network, alpha frozen
    # paths scored on the last epoch by validation accuracy with the shared weights (0 = none; with
    # pruning among the kept candidates, else among all paths; all of them when eval_paths covers them)
    eval_paths: int = 0
    # paths scored as above, named (candidate index per row): when given they replace the eval_paths sample, so
    # every repeat of a hyper-architecture scores the same paths (rank validation scores the paths it trains
    # stand-alone, not all window ** depth of them: hiernas.tune.rank_validation)
    scored_paths: tuple[tuple[int, ...], ...] = ()
    # after the last epoch, score every cell by the validation accuracy drop and loss rise when it leaves its
    # row's mixture (DARTS-PT; hiernas.fade.perturbation): ``perturbation``, ``perturbation_loss`` and their
    # rank matrices ``perturbation_alpha``, ``perturbation_loss_alpha``
    perturbation: bool = False

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.weight_lr <= 0 or self.arch_lr < 0:
            raise ValueError("weight_lr must be > 0 and arch_lr >= 0")
        if self.order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {self.order}")
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        if self.prune_k < 0 or self.fair_epochs < 0 or self.eval_paths < 0:
            raise ValueError("prune_k, fair_epochs and eval_paths must be >= 0")
        check_amp(self.amp)
        if self.arch_every < 1 or self.arch_samples < 2:
            raise ValueError(f"need arch_every >= 1 and arch_samples >= 2, got {self.arch_every}, {self.arch_samples}")
        if self.weight_lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"weight_lr_schedule must be one of {list(LR_SCHEDULES)}, got {self.weight_lr_schedule!r}")


# what can rank the cells (the keys of searchers.records.RANK_SOURCES, which this package must not import:
# the searchers import Ray)
RANK_SOURCE_NAMES = ("alpha", "pathwise", "perturbation", "perturbation_loss")


def rank_scoring(rank: str, rank_paths: int) -> dict[str, Any]:
    """The ``TrainConfig`` fields a searcher's rank source needs (``searchers.records.RANK_SOURCES``):
    ``pathwise`` scores ``rank_paths`` paths, ``perturbation`` and ``perturbation_loss`` every cell, ``alpha``
    neither."""
    return {"eval_paths": rank_paths if rank == "pathwise" else 0, "perturbation": rank.startswith("perturbation")}


@dataclass(frozen=True)
class TrialConfig(ConfigBase):
    """Everything one hyper-architecture trial needs; ``cells[i][j]`` is the JSON of cell j in row i."""

    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    cells: tuple[tuple[Any, ...], ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "seed", int(self.seed))
        if self.model.score_function and self.train.order == 2:
            raise ValueError("the score-function architecture gradient (hard Gumbel, reinforce) is first order only")
        for path in self.train.scored_paths:
            if len(path) != self.model.depth or not all(0 <= int(k) < self.model.window for k in path):
                raise ValueError(f"scored path {list(path)} needs {self.model.depth} candidate indices in "
                                 f"[0, {self.model.window})")
        if self.cells:
            if len(self.cells) != self.model.depth:
                raise ValueError(f"cells has {len(self.cells)} rows, model.depth is {self.model.depth}")
            for i, row in enumerate(self.cells):
                if len(row) != self.model.window:
                    raise ValueError(f"cells row {i} has {len(row)} cells, model.window is {self.model.window}")
