"""Training a DARTS genotype's evaluation network from scratch (the last stage of a cell-level search).

``run_final_training(config, report, resume, device)`` trains the network of ``EvalConfig.genotype`` with
the DARTS CIFAR-10 recipe (SGD, cosine learning rate, auxiliary head, drop-path, cutout), reports the
test accuracy every epoch with a checkpoint dict, and continues from such a checkpoint.
``hiernas.trainable.eval_trainable`` wraps it for Ray Tune; ``scripts/train_final.py`` runs it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from hiernas.checkpoint import Loaders, Report, State, resume_from, snapshot
from hiernas.config import DataConfig, _DictConfig
from hiernas.darts_search import batches, cosine_lr
from hiernas.data import Splits, cutout, darts_split, make_loader, training_batches
from hiernas.scoring import evaluate_model
from hiernas.supernet import EvalNetwork, count_parameters
from spaces.darts import Genotype, genotype_from_json

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalConfig(_DictConfig):
    """Training a genotype's evaluation network from scratch (DARTS CIFAR-10 settings by default)."""

    genotype: Any = None  # genotype JSON (dict or string)
    seed: int = 0
    data: DataConfig = field(default_factory=lambda: DataConfig(batch_size=96))
    channels: int = 36
    layers: int = 20
    auxiliary: bool = True
    auxiliary_weight: float = 0.4
    drop_path_prob: float = 0.2  # increased linearly from 0 over the epochs, as DARTS does
    cutout_length: int = 16  # 0 disables
    epochs: int = 600
    lr: float = 0.025
    lr_min: float = 0.0
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    max_steps_per_epoch: int | None = None
    max_eval_batches: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.data, Mapping):
            object.__setattr__(self, "data", DataConfig.from_dict(self.data))
        if self.genotype is None:
            raise ValueError("EvalConfig needs a genotype (its JSON form)")
        genotype = self.genotype if isinstance(self.genotype, Genotype) else genotype_from_json(self.genotype)
        object.__setattr__(self, "genotype", genotype.to_json())
        for name in ("channels", "layers", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.drop_path_prob < 1:
            raise ValueError(f"drop_path_prob must be in [0, 1), got {self.drop_path_prob}")
        if self.cutout_length < 0 or self.lr <= 0:
            raise ValueError("cutout_length must be >= 0 and lr > 0")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["data"] = self.data.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> EvalConfig:
        data = dict(data or {})
        nested = data.pop("data", None)
        if nested is not None:
            data["data"] = DataConfig.from_dict(nested)
        return super().from_dict(data)


def build_eval_network(cfg: EvalConfig, in_channels: int, num_classes: int) -> EvalNetwork:
    """The evaluation network of ``cfg.genotype``."""
    return EvalNetwork(
        genotype_from_json(cfg.genotype), in_channels, num_classes, cfg.channels, cfg.layers, cfg.auxiliary
    )


def run_final_training(
    config: Mapping[str, Any] | EvalConfig,
    report: Report,
    resume: State | None = None,
    device: torch.device | str = "cpu",
    splits: Splits | None = None,
) -> dict[str, Any]:
    """Train a genotype from scratch on both halves of the DARTS split; report test accuracy every epoch.

    SGD with cosine learning rate, auxiliary loss (weight 0.4), drop-path growing linearly to
    ``drop_path_prob`` and cutout, all seeded from ``cfg.seed``. ``num_params`` excludes the auxiliary head.
    """
    cfg = config if isinstance(config, EvalConfig) else EvalConfig.from_dict(config)
    device = torch.device(device)
    torch.manual_seed(cfg.seed)
    splits = splits or darts_split(cfg.data, cfg.seed)
    channels, height, _ = splits.input_shape
    if cfg.cutout_length >= height:
        logger.warning("cutout length %d covers the whole %dx%d image", cfg.cutout_length, height, height)
    model = build_eval_network(cfg, channels, splits.num_classes).to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )
    cutout_gen, drop_gen = torch.Generator(), torch.Generator()
    cutout_gen.manual_seed(cfg.seed + 1)
    drop_gen.manual_seed(cfg.seed + 2)
    model.drop_generator = drop_gen
    loaders: Loaders = {"model": model.load_state_dict, "optimizer": optimizer.load_state_dict,
               "cutout_rng": cutout_gen.set_state, "drop_rng": drop_gen.set_state}
    start, metrics, finished = resume_from(resume, loaders, report, cfg.epochs)
    if finished:
        return metrics
    train_set: torch.utils.data.ConcatDataset[tuple[Tensor, ...]] = torch.utils.data.ConcatDataset(
        [splits.arch, splits.weights]
    )
    batch = cfg.data.batch_size
    steps = training_batches(len(train_set), batch)
    steps = min(steps, cfg.max_steps_per_epoch or steps)
    num_params = count_parameters(model)
    for epoch in range(start, cfg.epochs):
        started = time.perf_counter()
        lr = cosine_lr(epoch, cfg.epochs, cfg.lr, cfg.lr_min)
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.drop_path_prob = cfg.drop_path_prob * epoch / cfg.epochs
        model.train()
        losses, accs = [], []
        for x, y in batches(make_loader(train_set, batch, seed=cfg.seed * 100_003 + epoch), steps):
            if cfg.cutout_length:
                x = cutout(x, cfg.cutout_length, cutout_gen)
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad(set_to_none=True)
            logits, aux_logits = model.forward_train(x)  # (B, classes), (B, classes) | None
            loss = F.cross_entropy(logits, y)
            if aux_logits is not None:
                loss = loss + cfg.auxiliary_weight * F.cross_entropy(aux_logits, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            losses.append(loss.item())
            accs.append((logits.argmax(1) == y).float().mean().item())
        model.eval()
        test_loss, test_acc = evaluate_model(model, splits.test, batch, device, cfg.max_eval_batches)
        metrics = {
            "epoch": epoch + 1,
            "train_loss": float(np.mean(losses)),
            "train_acc": float(np.mean(accs)),
            "test_loss": test_loss,
            "test_acc": test_acc,
            "lr": lr,
            "drop_path_prob": model.drop_path_prob,
            "num_params": num_params,
            "epoch_time": time.perf_counter() - started,
            "final": epoch + 1 == cfg.epochs,
        }
        logger.info("final training epoch %d/%d test_acc=%.3f", epoch + 1, cfg.epochs, test_acc)
        parts = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "cutout_rng": cutout_gen.get_state(), "drop_rng": drop_gen.get_state()}
        report(metrics, snapshot(epoch + 1, metrics, parts))
    return metrics
