"""Cell-level differentiable search without Ray: DARTS (1st/2nd order), PC-DARTS, GDAS, DARTS-PD and the
survey's ProxylessNAS, PARSEC, P-DARTS, MergeNAS and DropNAS.

``run_darts_search(config, report, resume, device)`` runs one search trial from its config dict alone,
calls ``report(metrics, state)`` after every epoch (``state`` is a checkpoint dict) and continues from
such a state. ``hiernas.tune.trainables`` wraps it for Ray Tune. Methods (``DartsConfig.method``):

- ``darts`` / ``darts2``: softmax mixing, first order / unrolled second order (``hiernas.bilevel``).
- ``pcdarts``: partial channels 1/K with channel shuffle, edge normalisation beta, alpha frozen for the
  first ``warmup_epochs``.
- ``gdas``: hard Gumbel-softmax, one op computed per edge, temperature linear from ``tau_max`` to ``tau_min``.
- ``darts-pd``: ``base_method`` search, then soft pruning to ``prune_k`` ops per derived edge, path-wise
  strict-fair training (``fair_epochs``) and evolutionary path selection (``hiernas.darts.derive``).
- ``pdarts``: P-DARTS' stages of deeper supernets on fewer operations per edge (``hiernas.darts.progressive``).
- ``proxyless``, ``parsec``, ``dropnas``, ``mergenas``: the supernet's mixing mode or merged edges and the
  method's architect (``hiernas.darts.supernets``: ``build_search_network``, ``make_architect``).

``DartsConfig.space`` picks the cells: DARTS' (``SearchNetwork``, reports a ``genotype``) or NAS-Bench-201's
(``hiernas.nb201.search_network.Nb201SearchNetwork``, reports the architecture string ``arch``).

Paper defaults come from ``method_defaults``; ``DartsConfig.for_method(name, **overrides)`` applies them.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic

import numpy as np
import torch
from torch import Tensor, nn

from hiernas.bilevel import Architect
from hiernas.checkpoint import TORCH_RNG, Part, Parts, Report, State, load_parts, resume_from, snapshot
from hiernas.darts.architectures import A, Architectures, darts_architectures, nb201_architectures
from hiernas.darts.config import DartsConfig
from hiernas.darts.derive import PathChoices, evolve_paths
from hiernas.darts.supernets import CellSearchNetwork, EdgeOps, arch_metrics, build_search_network, make_architect
from hiernas.device import peak_memory_mb
from hiernas.fairness import fair_schedule, fair_train_steps
from hiernas.mixed import ChoiceMode
from hiernas.nb201.search_network import Nb201SearchNetwork
from hiernas.paths import Path
from hiernas.scoring import evaluate_model
from hiernas.splits import Splits, capped, darts_split, epoch_seed, infinite_batches, make_loader, training_batches

logger = logging.getLogger(__name__)



def cosine_lr(epoch: int, epochs: int, lr_max: float, lr_min: float) -> float:
    """Cosine annealing (the value ``CosineAnnealingLR(T_max=epochs)`` gives at ``epoch``)."""
    return lr_min + 0.5 * (lr_max - lr_min) * (1.0 + math.cos(math.pi * epoch / max(epochs, 1)))


def temperature_at(epoch: int, cfg: DartsConfig) -> float:
    """GDAS: linear decay from ``tau_max`` at the first epoch to ``tau_min`` at the last."""
    if cfg.epochs <= 1:
        return cfg.tau_max
    return cfg.tau_max - (cfg.tau_max - cfg.tau_min) * epoch / (cfg.epochs - 1)


@dataclass
class _Run:
    """Everything one trial owns while it runs (kept together so stages share it)."""

    cfg: DartsConfig
    splits: Splits
    model: CellSearchNetwork
    weight_opt: torch.optim.Optimizer
    arch_opt: torch.optim.Optimizer
    architect: Architect
    device: torch.device
    history: list[dict[str, Any]]

    def steps_per_epoch(self) -> int:
        steps = training_batches(len(self.splits.weights), self.cfg.data.batch_size)
        return min(steps, self.cfg.max_steps_per_epoch or steps)

    def validate(self, forward: Callable[[Tensor], Tensor] | None = None) -> tuple[float, float]:
        self.model.eval() if forward is None else self.model.train()
        try:
            return evaluate_model(
                self.architect.precision.forward(forward or self.model),
                self.splits.arch,
                self.cfg.data.batch_size,
                self.device,
                self.cfg.max_eval_batches,
            )
        finally:
            self.model.train()

    def parts(self) -> Parts:
        """The checkpoint parts of the search stage (each saved and restored)."""
        return {
            "model": Part.of(self.model),
            "weight_optimizer": Part.of(self.weight_opt),
            "arch_optimizer": Part.of(self.arch_opt),
            "torch_rng": TORCH_RNG,
            "history": Part(lambda: list(self.history), lambda history: setattr(self, "history", list(history))),
            **self.architect.precision.parts(),
        }


@dataclass
class _FairStage(Generic[A]):
    """DARTS-PD stage 2's own state: the pruned supernet, its optimiser and each path's update count."""

    pruned: PathChoices[A]
    load: Callable[[dict[str, Any]], PathChoices[A]]
    optimizer: torch.optim.Optimizer
    update_counts: dict[Path, int]

    def parts(self) -> Parts:
        """The checkpoint parts stage 2 adds to the search stage's (each saved and restored)."""
        return {
            "pruned": Part(self.pruned.to_json, lambda obj: setattr(self, "pruned", self.load(obj))),
            "fair_optimizer": Part.of(self.optimizer),
            "update_counts": Part(
                lambda: [[list(p), c] for p, c in self.update_counts.items()],
                lambda pairs: setattr(self, "update_counts", {tuple(p): int(c) for p, c in pairs}),
            ),
        }


def _search_epoch(run: _Run, epoch: int) -> dict[str, Any]:
    cfg, model = run.cfg, run.model
    lr = cosine_lr(epoch, cfg.epochs, cfg.weight_lr, cfg.weight_lr_min)
    for group in run.weight_opt.param_groups:
        group["lr"] = lr
    if cfg.mode is ChoiceMode.GUMBEL_HARD:
        model.temperature = temperature_at(epoch, cfg)
    frozen = epoch < cfg.warmup_epochs or cfg.arch_lr == 0
    seed = epoch_seed(cfg.seed, epoch)
    batch = cfg.data.batch_size
    arch_batches = infinite_batches(make_loader(run.splits.arch, batch, seed=seed + 1))
    steps = run.steps_per_epoch()
    total_steps = steps * cfg.epochs
    losses, accs = [], []
    model.train()
    for step, (x, y) in enumerate(capped(make_loader(run.splits.weights, batch, seed=seed), steps)):
        train_batch = (x.to(run.device), y.to(run.device))
        if not frozen:
            xa, ya = next(arch_batches)
            run.architect.arch_step(
                train_batch, (xa.to(run.device), ya.to(run.device)), epoch * steps + step, total_steps
            )
        loss, acc = run.architect.weight_step(train_batch)
        losses.append(loss)
        accs.append(acc)
    val_loss, val_acc = run.validate()
    return {
        "train_loss": float(np.mean(losses)),
        "train_acc": float(np.mean(accs)),
        "val_loss": val_loss,
        "val_acc": val_acc,
        "lr": lr,
        "temperature": float(model.temperature),
        "arch_frozen": frozen,
        "peak_memory_mb": peak_memory_mb(run.device),
    }


def _setup(cfg: DartsConfig, device: torch.device, splits: Splits | None, edge_ops: EdgeOps | None = None) -> _Run:
    torch.manual_seed(cfg.seed)  # weight init, Gumbel noise (re-seeded per unrolled step by the architect)
    splits = (splits or darts_split(cfg.data, cfg.seed)).to(device)  # on the device once per trial
    channels = splits.input_shape[0]
    model = build_search_network(cfg, channels, splits.num_classes, edge_ops=edge_ops).to(device)
    weight_opt = torch.optim.SGD(
        model.weight_parameters(), lr=cfg.weight_lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )
    arch_opt = torch.optim.Adam(
        model.arch_parameters(),
        lr=cfg.arch_lr,
        betas=(cfg.arch_betas[0], cfg.arch_betas[1]),
        weight_decay=cfg.arch_weight_decay,
    )
    return _Run(
        cfg, splits, model, weight_opt, arch_opt, make_architect(cfg, model, weight_opt, arch_opt, device), device, []
    )


def run_darts_search(
    config: Mapping[str, Any] | DartsConfig,
    report: Report,
    resume: State | None = None,
    device: torch.device | str = "cpu",
    splits: Splits | None = None,
) -> dict[str, Any]:
    """Run one search trial, reporting every epoch (all stages); returns the final metrics.

    Every report carries ``epoch`` (1-based over all stages), ``stage`` (search | fair | evolution | pdarts-N),
    losses and accuracies on the two halves of the DARTS split, ``genotype`` (the current derivation as a
    JSON string; NAS-Bench-201: ``arch``, the benchmark's architecture string) and the mixing weights; the
    last report has ``final: True`` and ``alpha_history`` (a JSON string: nested lists upset Tune's
    loggers), for DARTS-PD also ``pd_architectures`` and ``pd_evaluated``.
    """
    cfg = config if isinstance(config, DartsConfig) else DartsConfig.from_dict(config)
    if cfg.search_method == "pdarts":  # stages of growing supernets: hiernas.darts.progressive
        from hiernas.darts.progressive import run_pdarts  # imports this module

        return run_pdarts(cfg, report, resume, torch.device(device), splits)
    run = _setup(cfg, torch.device(device), splits)
    start, last, finished = resume_from(resume, run.parts(), report, cfg.epochs)
    if finished:
        return last
    pd = cfg.method == "darts-pd"
    metrics: dict[str, Any] = {}
    for epoch in range(start, cfg.epochs):
        started = time.perf_counter()
        metrics = {"epoch": epoch + 1, "stage": "search", **_search_epoch(run, epoch)}
        metrics.update(arch_metrics(run.model))
        metrics["epoch_time"] = time.perf_counter() - started
        run.history.append({k: metrics[k] for k in metrics if k.startswith(("alpha_", "beta_"))})
        is_last = epoch + 1 == cfg.epochs and not pd
        metrics["final"] = is_last
        if is_last:
            metrics["alpha_history"] = json.dumps(run.history)
        logger.info(
            "search epoch %d/%d val_acc=%.3f %s",
            epoch + 1,
            cfg.epochs,
            metrics["val_acc"],
            metrics[cfg.arch_key],
        )
        report(metrics, snapshot(epoch + 1, metrics, run.parts()))
    if pd:
        metrics = _run_darts_pd(run, max(start, cfg.epochs), resume, report)
    return metrics


def _run_darts_pd(run: _Run, start: int, resume: State | None, report: Report) -> dict[str, Any]:
    """DARTS-PD stages 2 and 3 after the search epochs (resumable at fair-epoch granularity)."""
    for p in run.model.arch_parameters():
        p.requires_grad_(False)  # alpha is frozen from here on
    model, channels, classes = run.model, run.splits.input_shape[0], run.splits.num_classes
    if isinstance(model, Nb201SearchNetwork):
        return _pd_stages(run, nb201_architectures(model, run.cfg, channels, classes), start, resume, report)
    return _pd_stages(run, darts_architectures(model, run.cfg, channels, classes), start, resume, report)


def _pd_stages(
    run: _Run, archs: Architectures[A], start: int, resume: State | None, report: Report
) -> dict[str, Any]:
    """Stage 2 (path-wise strict-fair training of ``archs.pruned``) and stage 3 (evolution), in either space."""
    cfg, model = run.cfg, run.model
    fair: _FairStage[A] = _FairStage(
        archs.pruned,
        archs.load,
        torch.optim.SGD(model.weight_parameters(), lr=cfg.fair_lr, momentum=cfg.momentum,
                        weight_decay=cfg.weight_decay),
        {},
    )
    if resume is not None and "pruned" in resume:  # a checkpoint of stage 2 or 3
        load_parts(resume, fair.parts())
    pruned, fair_opt = fair.pruned, fair.optimizer
    steps = run.steps_per_epoch()
    fair_done = max(0, start - cfg.epochs)
    schedule_rng = np.random.default_rng([cfg.seed, 2])
    groups = fair_schedule(len(pruned.slots), pruned.k, steps * cfg.fair_epochs, schedule_rng)
    per_epoch = -(-len(groups) // max(cfg.fair_epochs, 1))
    fair_batches = infinite_batches(make_loader(run.splits.weights, cfg.data.batch_size, seed=cfg.seed * 7 + 5))
    metrics: dict[str, Any] = {}
    for fair_epoch in range(fair_done, cfg.fair_epochs):
        started = time.perf_counter()
        lr = cosine_lr(fair_epoch, cfg.fair_epochs, cfg.fair_lr, 0.0)
        for group in fair_opt.param_groups:
            group["lr"] = lr
        chunk = groups[fair_epoch * per_epoch : (fair_epoch + 1) * per_epoch]
        model.train()
        loss = fair_train_steps(
            lambda x, path: archs.forward(x, pruned.genotype(path)), chunk, fair_batches, fair_opt,
            run.device, clip=lambda: nn.utils.clip_grad_norm_(model.weight_parameters(), cfg.grad_clip),
            update_counts=fair.update_counts,
        )
        val_loss, val_acc = run.validate(
            lambda x: archs.forward(x, pruned.genotype([0] * len(pruned.slots)))
        )
        metrics = {
            "epoch": cfg.epochs + fair_epoch + 1,
            "stage": "fair",
            "train_loss": loss,
            "val_loss": val_loss,
            "val_acc": val_acc,
            "lr": lr,
            "epoch_time": time.perf_counter() - started,
            "final": False,
            cfg.arch_key: archs.text(pruned.genotype([0] * len(pruned.slots))),
            "fair_paths_trained": len(fair.update_counts),
            "fair_update_counts": sorted(set(fair.update_counts.values())),
        }
        report(metrics, snapshot(cfg.epochs + fair_epoch + 1, metrics, {**run.parts(), **fair.parts()}))
    started = time.perf_counter()
    rng = np.random.default_rng([cfg.seed, 3])
    evolution = evolve_paths(
        pruned,
        score=lambda a: run.validate(lambda x: archs.forward(x, a))[1],
        size=archs.size,
        population=cfg.es_population,
        generations=cfg.es_generations,
        num_architectures=cfg.num_architectures,
        rng=rng,
    )
    best = evolution.selected[0]
    metrics = {
        "epoch": cfg.epochs + cfg.fair_epochs + 1,
        "stage": "evolution",
        "val_acc": best.val_acc,
        cfg.arch_key: archs.text(best.genotype),
        "epoch_time": time.perf_counter() - started,
        "pd_kept": json.dumps(pruned.to_json()),
        "pd_architectures": json.dumps([archs.to_json(c) for c in evolution.selected]),
        "pd_evaluated": json.dumps([archs.to_json(c) for c in evolution.evaluated]),
        "fair_paths_trained": len(fair.update_counts),
        "fair_update_counts": sorted(set(fair.update_counts.values())),
        "alpha_history": json.dumps(run.history),
        "final": True,
        **arch_metrics(model),
    }
    metrics[cfg.arch_key] = archs.text(best.genotype)  # the evolution's best, not alpha's derivation
    report(
        metrics,
        snapshot(cfg.epochs + cfg.fair_epochs + 1, metrics, {**run.parts(), **fair.parts()}),
    )
    return metrics
