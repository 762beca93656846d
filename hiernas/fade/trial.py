"""One hyper-architecture trial without Ray: build data and HyperNet from a ``TrialConfig``, train it
bilevel, report every epoch, checkpoint, and optionally run the DARTS-PD path stages and score the cells
by perturbation (DARTS-PT).

``hiernas.tune.trainables.hyper_trainable`` wraps ``run_hyper_trial`` for Ray Tune; tests and scripts can call
it directly with any ``report`` callback.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from hiernas.bilevel import Architect, BilevelSettings
from hiernas.checkpoint import TORCH_RNG, Part, Report, State, resume_from, snapshot
from hiernas.device import FLOAT32, Precision, peak_memory_mb
from hiernas.fade.candidates import candidate_factory
from hiernas.fade.config import ModelConfig, TrialConfig, scheduled_lr
from hiernas.fade.hypernet import HyperNet, MaxNormRegulariser
from hiernas.fade.perturbation import removal_scores
from hiernas.fade.ranks import log_probs, pathwise_alpha, top_paths
from hiernas.fairness import fair_schedule, fair_train_steps
from hiernas.mixed import ChoiceMode
from hiernas.paths import Path, all_paths, decode_path
from hiernas.scoring import evaluate
from hiernas.splits import Splits, epoch_seed, infinite_batches, make_loader, make_splits

logger = logging.getLogger(__name__)



def decode_cells(cells: Sequence[Sequence[Any]], model: ModelConfig | None = None) -> list[list[Any]]:
    """The JSON cells of a trial config as cell rows of ``model.space`` (default: DAG cells)."""
    factory = candidate_factory(model or ModelConfig())
    return [[factory.decode(c) for c in row] for row in cells]


def build_hypernet(cfg: TrialConfig, splits: Splits, generator: torch.Generator | None = None) -> HyperNet:
    """The HyperNet a trial config describes, for the data's channels, size and classes; its alpha is drawn
    from ``generator`` (None: torch's global generator)."""
    channels, height, _ = splits.input_shape
    regulariser = MaxNormRegulariser(cfg.train.reg_start, cfg.train.reg_end, tuple(cfg.train.reg_row_scale))
    if regulariser.row_scale and len(regulariser.row_scale) != cfg.model.depth:
        raise ValueError(
            f"reg_row_scale has {len(regulariser.row_scale)} entries, expected depth={cfg.model.depth}"
        )
    return HyperNet(decode_cells(cfg.cells, cfg.model), cfg.model, channels, splits.num_classes, height, regulariser,
                    generator, cfg.train.arch_samples)


def validate(model: HyperNet, dataset: TensorDataset, batch_size: int, device: torch.device,
             precision: Precision = FLOAT32) -> tuple[float, float]:
    """The hyper-architecture's validation loss and accuracy, as its mode defines it.

    Mixing modes: the mixture with running BatchNorm statistics. Hard Gumbel: the most likely path (the
    top FaDE rank) with batch statistics; a fresh sample per batch, normalised by running statistics
    averaged over all sampled paths, would say little about any architecture.
    """
    if model.mode is not ChoiceMode.GUMBEL_HARD:
        return evaluate(model, dataset, batch_size, device, precision.forward(model))
    top = model.alpha.detach().argmax(dim=1).tolist()
    path = precision.forward(functools.partial(model.forward_path, path=top))
    return evaluate(model, dataset, batch_size, device, path, batch_stats=True)


def _optimisers(model: HyperNet, cfg: TrialConfig) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    t = cfg.train
    weight_opt = torch.optim.Adam(
        model.weight_parameters(), lr=t.weight_lr, betas=(t.weight_betas[0], t.weight_betas[1]), eps=t.weight_eps,
        weight_decay=t.weight_decay,
    )
    arch_opt = torch.optim.Adam(
        model.arch_parameters(), lr=t.arch_lr, betas=(t.arch_betas[0], t.arch_betas[1]),
        weight_decay=t.arch_weight_decay,
    )
    return weight_opt, arch_opt


def alpha_metrics(model: HyperNet, top_k: int) -> dict[str, Any]:
    """Softmaxed and raw alpha, and the top paths with their log FaDE ranks."""
    alpha = model.export_probs()
    ranked = top_paths(log_probs(alpha), top_k)
    return {
        "alpha": alpha,
        "alpha_logits": model.alpha.detach().cpu().tolist(),
        "top_paths": [list(r.path) for r in ranked],
        "top_log_ranks": [r.log_rank for r in ranked],
    }


def run_hyper_trial(
    config: dict[str, Any] | TrialConfig,
    report: Report,
    resume: State | None = None,
    device: torch.device | str = "cpu",
    splits: Splits | None = None,
    final_metrics: Callable[[HyperNet, Splits], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Train one hyper-architecture and report every epoch; returns the final metrics.

    Args:
        config: the trial config (dict as Tune passes it, or a ``TrialConfig``).
        report: called as ``report(metrics, state)`` after every epoch; ``state`` is a checkpoint dict.
        resume: a checkpoint dict from an earlier ``report`` to continue from.
        device: where to train.
        splits: pre-built data splits (otherwise built from ``config.data`` and ``config.seed``).
        final_metrics: adds metrics to the last report (e.g. test accuracy of a stand-alone path).
    """
    cfg = config if isinstance(config, TrialConfig) else TrialConfig.from_dict(config)
    if not cfg.cells:
        raise ValueError("the trial config has no cells: expected depth x window cell JSON objects")
    device = torch.device(device)
    torch.manual_seed(cfg.seed)
    splits = (splits or make_splits(cfg.data, cfg.seed)).to(device)  # on the device once per trial
    # the trial's generator is torch's global one, seeded above with the trial seed: it draws alpha first,
    # then the weights (one stream, so a seed gives the same network as before generators were explicit)
    model = build_hypernet(cfg, splits, torch.default_generator).to(device)
    weight_opt, arch_opt = _optimisers(model, cfg)
    settings = BilevelSettings(order=cfg.train.order, grad_clip_value=cfg.train.grad_clip or None)
    precision = Precision(cfg.train.amp, device)
    architect = Architect(model, weight_opt, arch_opt, settings, precision)
    parts = {"model": Part.of(model), "weight_optimizer": Part.of(weight_opt), "arch_optimizer": Part.of(arch_opt),
             "torch_rng": TORCH_RNG, **precision.parts()}
    start_epoch, metrics, finished = resume_from(resume, parts, report, cfg.train.epochs)
    if finished:
        return metrics
    batch = cfg.data.batch_size
    steps_per_epoch = -(-len(splits.weights) // batch)
    total_steps = steps_per_epoch * cfg.train.epochs
    for epoch in range(start_epoch, cfg.train.epochs):
        started = time.perf_counter()
        loader_seed = epoch_seed(cfg.seed, epoch)
        arch_batches = infinite_batches(make_loader(splits.arch, batch, seed=loader_seed + 1))
        losses, accs = [], []
        model.train()
        for step, (x, y) in enumerate(make_loader(splits.weights, batch, seed=loader_seed)):
            global_step = epoch * steps_per_epoch + step
            x, y = x.to(device), y.to(device)
            lr = scheduled_lr(cfg.train.weight_lr, cfg.train.weight_lr_schedule, global_step, total_steps)
            for group in weight_opt.param_groups:  # set from the step: a resumed trial continues the schedule
                group["lr"] = lr
            if epoch >= cfg.train.warmup_epochs and cfg.train.arch_lr > 0 and step % cfg.train.arch_every == 0:
                xa, ya = next(arch_batches)
                architect.arch_step((x, y), (xa.to(device), ya.to(device)), global_step, total_steps)
            loss, acc = architect.weight_step((x, y))
            losses.append(loss)
            accs.append(acc)
        val_loss, val_acc = validate(model, splits.arch, batch, device, precision)
        metrics = {
            "epoch": epoch + 1,
            "train_loss": float(np.mean(losses)),
            "train_acc": float(np.mean(accs)),
            "val_loss": val_loss,
            "val_acc": val_acc,
            "epoch_time": time.perf_counter() - started,
            "peak_memory_mb": peak_memory_mb(device),
            **alpha_metrics(model, cfg.train.top_k),
            "final": False,
        }
        last = epoch + 1 == cfg.train.epochs
        if last and (cfg.train.prune_k > 0 or cfg.train.eval_paths > 0 or cfg.train.scored_paths):
            metrics.update(run_path_stages(model, cfg, splits, weight_opt, device))
        if last and cfg.train.perturbation:
            metrics.update(removal_scores(model, splits.arch, batch, device, precision).metrics())
        if last and final_metrics is not None:
            metrics.update(final_metrics(model, splits))
        metrics["final"] = last
        logger.info("epoch %d/%d val_acc=%.3f", epoch + 1, cfg.train.epochs, val_acc)
        report(metrics, snapshot(epoch + 1, metrics, parts))
    return metrics


def run_path_stages(
    model: HyperNet,
    cfg: TrialConfig,
    splits: Splits,
    weight_opt: torch.optim.Optimizer,
    device: torch.device,
) -> dict[str, Any]:
    """Path-wise stages after the last epoch: DARTS-PD's pruning and strict-fair training (``prune_k > 0``)
    and the scoring of paths by validation accuracy with the shared weights (``eval_paths > 0``).

    Soft pruning keeps the ``prune_k`` candidates with the largest alpha per row; alpha stays frozen.
    Path-wise strict-fair training (``hiernas.fairness``) accumulates the gradients of each step's paths
    before one update. Scored paths are all paths (of the kept candidates) when ``eval_paths`` covers
    them, else a seeded sample without repeats, or exactly ``scored_paths`` when given; they are scored with
    batch statistics, since running statistics mix every path's activations.
    """
    t = cfg.train
    depth, window = cfg.model.depth, cfg.model.window
    k = min(t.prune_k, window) if t.prune_k > 0 else window
    kept = [list(map(int, np.argsort(-row, kind="stable")[:k])) for row in model.alpha.detach().cpu().numpy()]
    rng = np.random.default_rng(cfg.seed + 7)
    batch = cfg.data.batch_size
    out: dict[str, Any] = {}
    if t.prune_k > 0:
        update_counts: dict[Path, int] = {}
        model.train()
        if t.fair_epochs > 0:
            steps = -(-len(splits.weights) // batch) * t.fair_epochs
            fair_train_steps(
                lambda x, local: model.forward_path(x, [kept[i][j] for i, j in enumerate(local)]),
                fair_schedule(depth, k, steps, rng),
                infinite_batches(make_loader(splits.weights, batch, seed=cfg.seed + 11)), weight_opt, device,
                clip=(lambda: torch.nn.utils.clip_grad_value_(model.weight_parameters(), t.grad_clip))
                if t.grad_clip else None,
                update_counts=update_counts,
            )
        out = {"kept": kept, "fair_update_counts": sorted(set(update_counts.values()))}
    total = k**depth
    if t.scored_paths:
        paths = [[int(c) for c in p] for p in t.scored_paths]
    else:
        if t.eval_paths >= total:
            local_paths = list(all_paths(depth, k))
        else:
            chosen: Sequence[int] = (rng.choice(total, size=t.eval_paths, replace=False).tolist()
                                     if t.eval_paths else [])
            local_paths = [decode_path(int(i), depth, k) for i in chosen]
        paths = [[kept[i][j] for i, j in enumerate(p)] for p in local_paths]
    accs = [
        evaluate(model, splits.arch, batch, device, functools.partial(model.forward_path, path=p), batch_stats=True)[1]
        for p in paths
    ]
    # the path scores as a rank matrix in alpha's form, for searchers that rank by them (rank="pathwise")
    return {**out, "path_indices": paths, "path_val_acc": accs, "pathwise_alpha": pathwise_alpha(paths, accs, window)}
