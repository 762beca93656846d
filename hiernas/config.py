"""Frozen configuration dataclasses that round-trip through Ray Tune's ``param_space`` and JSON.

A trial's whole input is its config dict: ``TrialConfig.to_dict()`` gives a nested, JSON-able dict
(``{"seed", "data", "model", "train", "cells"}``); ``TrialConfig.from_dict`` rebuilds it and rejects
unknown keys by name, so a typo in a search space fails loudly instead of being ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T", bound="_DictConfig")

CHOICE_MODES = ("softmax", "gumbel_hard", "gumbel_soft")
DATASETS = ("digits", "cifar10", "synthetic")


class _DictConfig:
    """Mixin: ``to_dict`` / ``from_dict`` for flat frozen dataclasses (tuples become lists in JSON)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any] | None) -> T:
        data = dict(data or {})
        known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(
                f"unknown {cls.__name__} key(s) {unknown}; allowed: {sorted(known)}"
            )
        kwargs = {}
        for name, value in data.items():
            if isinstance(value, list):
                value = tuple(value)
            kwargs[name] = value
        return cls(**kwargs)

    def replace(self: T, **changes: Any) -> T:
        """Return a copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class DataConfig(_DictConfig):
    """Which data set to load and how to split and batch it."""

    dataset: str = "digits"  # digits (embedded, sklearn) | cifar10 (python batches) | synthetic
    data_dir: str | None = None  # directory holding the CIFAR-10 python batches
    download: bool = False  # fetch CIFAR-10 with torchvision when the batches are missing
    batch_size: int = 128  # FaDE paper: batches of 128
    split: tuple[int, int, int] = (1, 1, 4)  # FaDE: test : architecture : weights
    limit: int | None = None  # use only the first ``limit`` samples (after shuffling); None = all
    synthetic_size: int = 256  # samples generated for the synthetic set
    synthetic_shape: tuple[int, int, int] = (3, 8, 8)  # (C, H, W) of the synthetic images
    synthetic_classes: int = 10

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; expected one of {list(DATASETS)}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if len(self.split) != 3 or any(int(p) < 1 for p in self.split):
            raise ValueError(f"split must be three positive parts (test, arch, weights), got {self.split}")


@dataclass(frozen=True)
class ModelConfig(_DictConfig):
    """Shape of the hyper-architecture: ``depth`` rows of ``window`` DAG cells (FaDE section 3 defaults)."""

    depth: int = 4
    window: int = 6
    kernel_size: int = 5  # FaDE: 5x5 convolutions on every inner edge
    final_channels: int = 32  # FaDE: "16 or 32 in the final cell", doubling row to row before it
    min_channels: int = 4  # channel floor for shallow rows of deep networks
    pooling: str = "max"  # max | avg | none: downsampling between rows (halves H and W while > 1)
    batch_norm: bool = True  # BatchNorm after every edge convolution
    choice_mode: str = "gumbel_hard"  # softmax (DARTS) | gumbel_hard (GDAS/FaDE) | gumbel_soft (SNAS)
    temperature: float = 10.0  # FaDE: Gumbel-softmax temperature 10
    share_weights: bool = False  # share convolutions per row by edge slot (see hiernas.hyper)

    def __post_init__(self) -> None:
        if self.depth < 1:
            raise ValueError(f"depth must be >= 1, got {self.depth}")
        if self.window < 1:
            raise ValueError(f"window must be >= 1, got {self.window}")
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

    def row_channels(self) -> list[int]:
        """Channels per row: doubling towards ``final_channels`` in the last row."""
        return [
            max(self.min_channels, self.final_channels // (2 ** (self.depth - 1 - i)))
            for i in range(self.depth)
        ]


@dataclass(frozen=True)
class TrainConfig(_DictConfig):
    """Bilevel training of the hyper-architecture (FaDE section 3 defaults, Adam for both levels)."""

    epochs: int = 5  # FaDE section 3.2: five epochs of hyper-architecture training per iteration
    weight_lr: float = 1e-3  # FaDE: Adam, learning rate 1e-3
    weight_betas: tuple[float, float] = (0.9, 0.999)  # FaDE prints (0.1, 1e-3), i.e. 1 - beta
    weight_eps: float = 1e-8
    weight_decay: float = 1e-4  # FaDE: weight decay 1e-4
    grad_clip: float = 10.0  # FaDE: gradient clipping at 10 (absolute value)
    arch_lr: float = 3e-2  # constant (FaDE); larger than the weight lr so alpha moves in few epochs
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 0.0
    order: int = 1  # 1: first-order DARTS; 2: unrolled second-order step
    reg_start: float = 0.1  # weight of the max-norm regulariser at the first step ...
    reg_end: float = -0.1  # ... decreasing linearly to this at the last step
    reg_row_scale: tuple[float, ...] = ()  # optional per-row scale of the regulariser; () = all ones
    warmup_epochs: int = 0  # epochs with alpha frozen (weights only)
    top_k: int = 5  # number of top paths reported per epoch
    # DARTS-PD stages after the DARTS epochs (all off by default):
    prune_k: int = 0  # soft pruning: keep the top-k candidates per row by alpha (0 = no pruning)
    fair_epochs: int = 0  # path-wise strict-fair training epochs of the pruned network, alpha frozen
    eval_paths: int = 0  # paths scored by validation accuracy with the shared weights (0 = none)

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


@dataclass(frozen=True)
class TrialConfig:
    """Everything one hyper-architecture trial needs; ``cells[i][j]`` is the JSON of cell j in row i."""

    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    cells: tuple[tuple[Any, ...], ...] = ()

    def __post_init__(self) -> None:
        if self.cells:
            if len(self.cells) != self.model.depth:
                raise ValueError(f"cells has {len(self.cells)} rows, model.depth is {self.model.depth}")
            for i, row in enumerate(self.cells):
                if len(row) != self.model.window:
                    raise ValueError(f"cells row {i} has {len(row)} cells, model.window is {self.model.window}")

    def replace(self, **changes: Any) -> TrialConfig:
        """Return a copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "data": self.data.to_dict(),
            "model": self.model.to_dict(),
            "train": self.train.to_dict(),
            "cells": [list(row) for row in self.cells],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialConfig:
        allowed = {"seed", "data", "model", "train", "cells"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"unknown TrialConfig key(s) {unknown}; allowed: {sorted(allowed)}")
        return cls(
            seed=int(data.get("seed", 0)),
            data=DataConfig.from_dict(data.get("data")),
            model=ModelConfig.from_dict(data.get("model")),
            train=TrainConfig.from_dict(data.get("train")),
            cells=tuple(tuple(row) for row in data.get("cells", ())),
        )
