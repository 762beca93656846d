"""Training a DARTS genotype's evaluation network from scratch (the last stage of a cell-level search).

``run_final_training(config, report, resume, device)`` trains the network of ``EvalConfig.genotype`` with
the DARTS CIFAR-10 recipe (SGD, cosine learning rate, auxiliary head, drop-path, cutout), reports the
test accuracy every epoch with a checkpoint dict, and continues from such a checkpoint.
``hiernas.tune.trainables.eval_trainable`` wraps it for Ray Tune; ``scripts/train_final.py`` runs it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from hiernas.checkpoint import Part, Report, State, resume_from, snapshot
from hiernas.darts.config import EvalConfig
from hiernas.darts.eval_network import EvalNetwork
from hiernas.darts.search import cosine_lr
from hiernas.darts.skeleton import count_parameters
from hiernas.datasets import input_spec
from hiernas.device import Precision, peak_memory_mb
from hiernas.scoring import evaluate_model
from hiernas.splits import Splits, capped, concat, cutout, darts_split, epoch_seed, make_loader, training_batches
from spaces.darts import genotype_from_json

logger = logging.getLogger(__name__)


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
    splits = (splits or darts_split(cfg.data, cfg.seed)).to(device)  # on the device once per trial
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
    precision = Precision(cfg.amp, device)
    parts = {"model": Part.of(model), "optimizer": Part.of(optimizer), "cutout_rng": Part.rng(cutout_gen),
             "drop_rng": Part.rng(drop_gen), **precision.parts()}
    start, metrics, finished = resume_from(resume, parts, report, cfg.epochs)
    if finished:
        return metrics
    train_set = concat(splits.arch, splits.weights)
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
        for x, y in capped(make_loader(train_set, batch, seed=epoch_seed(cfg.seed, epoch)), steps):
            if cfg.cutout_length:
                x = cutout(x, cfg.cutout_length, cutout_gen)
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad(set_to_none=True)
            with precision.autocast():
                logits, aux_logits = model.forward_train(x)  # (B, classes), (B, classes) | None
                loss = F.cross_entropy(logits, y)
                if aux_logits is not None:
                    loss = loss + cfg.auxiliary_weight * F.cross_entropy(aux_logits, y)
            precision.scaler.scale(loss).backward()
            precision.scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            precision.scaler.step(optimizer)
            precision.scaler.update()
            losses.append(loss.item())
            accs.append((logits.argmax(1) == y).float().mean().item())
        model.eval()
        test_loss, test_acc = evaluate_model(precision.forward(model), splits.test, batch, device,
                                             cfg.max_eval_batches)
        metrics = {
            "epoch": epoch + 1,
            "train_loss": float(np.mean(losses)),
            "train_acc": float(np.mean(accs)),
            "test_loss": test_loss,
            "test_acc": test_acc,
            "lr": lr,
            "drop_path_prob": model.drop_path_prob,
            "num_params": num_params,
            "peak_memory_mb": peak_memory_mb(device),
            "epoch_time": time.perf_counter() - started,
            "final": epoch + 1 == cfg.epochs,
        }
        logger.info("final training epoch %d/%d test_acc=%.3f", epoch + 1, cfg.epochs, test_acc)
        report(metrics, snapshot(epoch + 1, metrics, parts))
    return metrics


def eval_network_size(cfg: EvalConfig) -> str:
    """One line: the parameters of ``cfg``'s evaluation network (auxiliary head excluded), on the meta device."""
    spec = input_spec(cfg.data)
    with torch.device("meta"):
        count = count_parameters(build_eval_network(cfg, spec.channels, spec.num_classes))
    return (
        f"{count} parameters ({count / 1e6:.6f}M): evaluation network, C={cfg.channels}, {cfg.layers} cells, "
        f"{spec.num_classes} classes, {spec.channels} input channels (auxiliary head excluded)"
    )
