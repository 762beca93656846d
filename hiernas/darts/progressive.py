"""P-DARTS (Chen, Xie, Wu, Tian 2019, "Progressive Differentiable Architecture Search") as a cell-level method.

A search runs ``len(cfg.stage_cells)`` stages. Stage ``s`` builds a fresh supernet (new weights, new alpha)
of ``stage_cells[s]`` cells whose every edge holds ``stage_ops[s]`` operations, and trains it as the plain
loop of ``hiernas.darts.search`` does (``_setup`` / ``_search_epoch`` on a stage config): ``cfg.epochs``
epochs, alpha frozen for the first ``warmup_epochs``, the weights' cosine schedule restarted. Between stages
every edge keeps its ``stage_ops[s + 1]`` strongest operations (search space approximation), separately for
the DARTS normal and reduction cells. After the last stage the cell is derived as usual and the final normal
cell (NAS-Bench-201: the one cell) keeps at most ``pdarts_max_skips`` skip connections: the weakest chosen
one is zeroed and the cell derived again until it does (search space regularisation). A dropout after every
skip connection (``SkipDropout``) starts each stage at ``pdarts_skip_drop[s]`` and decays.

Deviations from the paper:

- NAS-Bench-201: P-DARTS did not search there; its stage sizes (1, 3, 5 cells per stage, 5, 4, 3 operations)
  are ours. ``none`` is a legal operation of the benchmark, so it competes in the pruning and derivation.
- Stage ``s`` is seeded ``seed + s * STAGE_SEED_STRIDE`` (weights, alpha, data order); the released code
  simply draws on from one generator. The DARTS split itself comes from the trial's seed in every stage.
- The weight step, architecture step and derivation are this library's (``hiernas.bilevel``,
  ``hiernas.darts.derive``), as for every other method; the released code's learning-rate off-by-one (the
  scheduler stepped before the first epoch) is not reproduced.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from hiernas.checkpoint import Part, Report, State, resume_from, snapshot
from hiernas.darts.config import DartsConfig
from hiernas.darts.derive import derive_genotype
from hiernas.darts.search import _Run, _search_epoch, _setup
from hiernas.darts.search_network import CELL_TYPES, SearchNetwork
from hiernas.darts.skeleton import edge_index, num_edges
from hiernas.darts.supernets import CellSearchNetwork, arch_metrics
from hiernas.nb201.derive import derive_cell
from hiernas.nb201.search_network import Nb201SearchNetwork
from hiernas.splits import Splits, darts_split
from spaces.darts import PRIMITIVES, Genotype
from spaces.nb201 import EDGES, OPS, Nb201Cell

logger = logging.getLogger(__name__)
EdgeOps = dict[str, tuple[tuple[str, ...], ...]]  # cell type (normal | reduce; NAS-Bench-201: cell) -> per edge
SKIP = "skip_connect"
STAGE_SEED_STRIDE = 1_000_003  # a prime: stage seeds of trials with nearby seeds do not collide in practice
SKIP_DROP_DECAY = 0.2  # P-DARTS' scale factor of the exponential decay after the warm-up


def initial_edge_ops(cfg: DartsConfig) -> EdgeOps:
    """Stage 1's operations: every edge holds all operations of ``cfg``'s space."""
    if cfg.space == "nb201":
        return {"cell": (OPS,) * len(EDGES)}
    return {kind: (PRIMITIVES,) * num_edges(cfg.steps) for kind in CELL_TYPES}


def stage_config(cfg: DartsConfig, stage: int) -> DartsConfig:
    """The plain-loop config of stage ``stage``: its cells, and its own seed for fresh weights and alpha."""
    cells = cfg.stage_cells[stage]
    seed = cfg.seed + stage * STAGE_SEED_STRIDE
    if cfg.space == "nb201":
        return replace(cfg, nb201_cells=cells, seed=seed)
    return replace(cfg, layers=cells, seed=seed)


def skip_drop_rate(rate: float, epoch: int, epochs: int, warmup_epochs: int) -> float:
    """The skip-connection dropout of a stage's ``epoch`` (0-based) starting from ``rate``.

    This is the paper's released schedule as we read it: during the warm-up (alpha frozen) it falls
    linearly, ``rate * (epochs - epoch - 1) / epochs``; from the first architecture epoch on it decays as
    ``rate * exp(-0.2 * (epoch - warmup_epochs))`` (so it jumps back to ``rate`` when alpha starts to move).
    """
    if epoch < warmup_epochs:
        return rate * (epochs - epoch - 1) / epochs
    return rate * math.exp(-SKIP_DROP_DECAY * (epoch - warmup_epochs))


def full_weights(model: CellSearchNetwork) -> dict[str, np.ndarray]:
    """Softmaxed alpha per cell type over all operations of the space (pruned ones 0): (E, n_ops) each."""
    if isinstance(model, Nb201SearchNetwork):
        return {"cell": model.arch_weights().cpu().numpy()}
    return {kind: w.cpu().numpy() for kind, w in model.arch_weights().items()}


def prune_edge_ops(ops: EdgeOps, weights: dict[str, np.ndarray], keep: int, primitives: tuple[str, ...]) -> EdgeOps:
    """P-DARTS' search space approximation: per cell type and edge, the ``keep`` operations of the edge with
    the largest weights (ties: the earlier operation), in ``primitives`` order."""
    pruned: EdgeOps = {}
    for kind, edges in ops.items():
        w = weights[kind]
        kept = []
        for e, names in enumerate(edges):
            if keep > len(names):
                raise ValueError(f"cannot keep {keep} of edge {e}'s {len(names)} operations ({kind} cell)")
            best = sorted(names, key=lambda name: -w[e, primitives.index(name)])[:keep]  # stable: ties keep order
            kept.append(tuple(name for name in primitives if name in best))
        pruned[kind] = tuple(kept)
    return pruned


def _weakest_skip(weights: np.ndarray, chosen: list[tuple[int, str]], skip: int) -> tuple[int, int]:
    """Among ``chosen`` (edge, op; at least one skip), the row and column of the weakest skip connection."""
    edges = [e for e, op in chosen if op == SKIP]
    return min(edges, key=lambda e: float(weights[e, skip])), skip


def restrict_skips_darts(
    normal: npt.ArrayLike, reduce: npt.ArrayLike, steps: int, max_skips: int, primitives: tuple[str, ...] = PRIMITIVES
) -> Genotype:
    """P-DARTS' rule: derive the genotype; while its normal cell has more than ``max_skips`` skip
    connections, zero the weight of the weakest chosen one and derive again (the reduction cell is kept)."""
    w = _nonnegative(normal)
    skip = primitives.index(SKIP)
    while True:
        genotype = derive_genotype(w, reduce, steps, primitives)
        chosen = [(edge_index(i // 2, source), op) for i, (op, source) in enumerate(genotype.normal)]
        if sum(op == SKIP for _, op in chosen) <= max_skips:
            return genotype
        w[_weakest_skip(w, chosen, skip)] = 0.0  # a chosen skip has weight > 0, so the loop ends


def restrict_skips_nb201(weights: npt.ArrayLike, max_skips: int) -> Nb201Cell:
    """P-DARTS' rule in a NAS-Bench-201 cell: while the argmax cell has more than ``max_skips`` skip
    connections, zero the weakest chosen one and derive again (that edge takes its next operation)."""
    w = _nonnegative(weights)
    skip = OPS.index(SKIP)
    while True:
        cell = derive_cell(w)
        if sum(op == SKIP for op in cell.ops) <= max_skips:
            return cell
        w[_weakest_skip(w, list(enumerate(cell.ops)), skip)] = 0.0


def _nonnegative(weights: npt.ArrayLike) -> np.ndarray:
    """A float copy of mixing weights, which must be >= 0 (zeroing a weight then never makes it stronger)."""
    w = np.array(weights, dtype=np.float64)
    if (w < 0).any():
        raise ValueError("mixing weights must be >= 0 (softmaxed alpha)")
    return w


def final_architecture(model: CellSearchNetwork, max_skips: int) -> str:
    """The final derivation with P-DARTS' skip rule, as the report's text (genotype JSON or NB201 string)."""
    weights = full_weights(model)
    if isinstance(model, SearchNetwork):
        return restrict_skips_darts(weights["normal"], weights["reduce"], model.steps, max_skips).dumps()
    return restrict_skips_nb201(weights["cell"], max_skips).arch_str


def _ops_json(ops: EdgeOps) -> dict[str, list[list[str]]]:
    return {kind: [list(names) for names in edges] for kind, edges in ops.items()}


def _ops_from_json(obj: dict[str, Any]) -> EdgeOps:
    return {str(kind): tuple(tuple(str(n) for n in names) for names in edges) for kind, edges in obj.items()}


def _stage_part(stage: int, ops: EdgeOps) -> Part:
    """The checkpoint part naming the stage and its operations (read before the network is built)."""

    def check(saved: dict[str, Any]) -> None:
        if int(saved["stage"]) != stage or _ops_from_json(saved["ops"]) != ops:
            raise ValueError(f"checkpoint is of P-DARTS stage {saved['stage']}, not of stage {stage}")

    return Part(lambda: {"stage": stage, "ops": _ops_json(ops)}, check)


def _epoch(run: _Run, cfg: DartsConfig, stage: int, epoch: int, ops: EdgeOps) -> dict[str, Any]:
    """One epoch of a stage: the plain loop's epoch with the stage's skip dropout, then the metrics."""
    started = time.perf_counter()
    rate = skip_drop_rate(cfg.pdarts_skip_drop[stage], epoch, cfg.epochs, cfg.warmup_epochs)
    run.model.set_skip_dropout(rate)
    metrics = {"epoch": stage * cfg.epochs + epoch + 1, "stage": f"pdarts-{stage + 1}", **_search_epoch(run, epoch)}
    metrics.update(arch_metrics(run.model))
    # alpha over all operations (pruned ones 0), so the history has one shape across stages
    metrics.update({f"alpha_{kind}": w.tolist() for kind, w in full_weights(run.model).items()})
    metrics.update({"skip_dropout": rate, "pdarts_ops": json.dumps(_ops_json(ops))})
    metrics["epoch_time"] = time.perf_counter() - started
    run.history.append({k: metrics[k] for k in metrics if k.startswith(("alpha_", "beta_"))})
    return metrics


def run_pdarts(
    cfg: DartsConfig,
    report: Report,
    resume: State | None = None,
    device: torch.device | str = "cpu",
    splits: Splits | None = None,
) -> dict[str, Any]:
    """Run a P-DARTS search (every stage), reporting every epoch; returns the final metrics.

    Reports are ``run_darts_search``'s with ``stage`` ``pdarts-1``, ``pdarts-2``, ..., ``pdarts_ops`` (per
    cell type and edge the stage's operations, JSON) and ``skip_dropout``; the final report's architecture
    has the skip rule applied, ``pdarts_derived`` the derivation before it. A checkpoint holds its stage and
    operations (part ``pdarts``), so a resume rebuilds that stage's network before loading it.
    """
    device = torch.device(device)
    splits = (splits or darts_split(cfg.data, cfg.seed)).to(device)  # one split for every stage
    stages, total = len(cfg.stage_cells), len(cfg.stage_cells) * cfg.epochs
    first, ops = 0, initial_edge_ops(cfg)
    if resume is not None:  # the checkpoint's stage (a stage's last epoch: pruned below, then the next)
        if "pdarts" not in resume:
            raise ValueError(f"not a P-DARTS checkpoint: no part 'pdarts' among {sorted(resume)}")
        first, ops = int(resume["pdarts"]["stage"]), _ops_from_json(resume["pdarts"]["ops"])
    history: list[dict[str, Any]] = []
    metrics: dict[str, Any] = {}
    for stage in range(first, stages):
        run = _setup(stage_config(cfg, stage), device, splits, edge_ops=ops)
        run.history = history
        parts = {**run.parts(), "pdarts": _stage_part(stage, ops)}
        start = 0
        if resume is not None and stage == first:
            done, metrics, finished = resume_from(resume, parts, report, total)
            if finished:
                return metrics
            start = done - stage * cfg.epochs
        for epoch in range(start, cfg.epochs):
            metrics = _epoch(run, cfg, stage, epoch, ops)
            metrics["final"] = stage + 1 == stages and epoch + 1 == cfg.epochs
            if metrics["final"]:
                metrics["pdarts_derived"] = metrics[cfg.arch_key]
                metrics[cfg.arch_key] = final_architecture(run.model, cfg.pdarts_max_skips)
                metrics["alpha_history"] = json.dumps(run.history)
            logger.info("P-DARTS stage %d epoch %d/%d val_acc=%.3f %s", stage + 1, epoch + 1, cfg.epochs,
                        metrics["val_acc"], metrics[cfg.arch_key])
            report(metrics, snapshot(stage * cfg.epochs + epoch + 1, metrics, parts))
        history = run.history
        if stage + 1 < stages:
            ops = prune_edge_ops(ops, full_weights(run.model), cfg.stage_ops[stage + 1], run.model.primitives)
    return metrics
