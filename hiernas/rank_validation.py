"""FaDE section 3.1: do FaDE ranks predict stand-alone accuracy?

The same ``n_g`` DAGs stand in every row of a hyper-architecture; it is trained ``repeats`` times
(parallel Tune trials, alpha averaged); a sample of paths is trained from scratch with several seeds
(parallel Tune trials, accuracies averaged); Spearman's rho between log FaDE rank and accuracy says how
well the ranks predict. Results: ``rank_validation.json``, ``paths.csv`` and ``rank_scatter.png``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hiernas.config import TrialConfig
from hiernas.evaluate import standalone_config
from hiernas.ranks import average_alpha, kendall, log_probs, path_log_rank, spearman, top_paths
from hiernas.results import plot_alpha_heatmap, plot_rank_scatter, write_csv, write_json
from hiernas.runtime import run_grid
from hiernas.trainable import hyper_trainable, standalone_trainable

logger = logging.getLogger(__name__)

# Five DAGs of growing depth and width (FaDE 3.1 used five hand-picked DAGs): JSON cell encodings.
DEFAULT_GRAPHS: tuple[dict[str, Any], ...] = (
    {"n": 1, "edges": []},  # one convolution
    {"n": 2, "edges": []},  # two parallel convolutions
    {"n": 2, "edges": [[0, 1]]},  # a chain of two
    {"n": 3, "edges": [[0, 1], [1, 2]]},  # a chain of three
    {"n": 4, "edges": [[0, 1], [0, 2], [1, 3], [2, 3]]},  # a diamond: five convolutions, depth three
)


@dataclass(frozen=True)
class ValidationPlan:
    """Budget and set-up of one rank validation (defaults fit 15 minutes on 2 CPU cores, digits)."""

    graphs: tuple[dict[str, Any], ...] = DEFAULT_GRAPHS
    repeats: int = 4  # hyper-architecture trainings, alpha averaged
    num_paths: int = 16  # FaDE 3.1: 16 stand-alone architectures
    standalone_seeds: int = 2  # seeds per stand-alone path, accuracy averaged
    standalone_epochs: int = 25
    path_selection: str = "quantile"  # quantile: evenly over the predicted ranks; random: uniform
    cpus_per_trial: float = 1
    gpus_per_trial: float = 0
    max_concurrent: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.graphs) < 2:
            raise ValueError(f"need at least 2 graphs per row, got {len(self.graphs)}")
        if self.repeats < 1 or self.num_paths < 3 or self.standalone_seeds < 1 or self.standalone_epochs < 1:
            raise ValueError("repeats, standalone seeds and epochs must be >= 1 and paths >= 3")
        if self.path_selection not in ("quantile", "random"):
            raise ValueError(f"path_selection must be quantile or random, got {self.path_selection!r}")


def select_paths(log_p: np.ndarray, count: int, how: str, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """``count`` distinct paths: evenly spaced over the predicted ranking, or uniformly at random."""
    depth, window = log_p.shape
    total = window**depth
    count = min(count, total)
    if how == "random":
        flat = rng.choice(total, size=count, replace=False)
        return [tuple(int(c) for c in np.unravel_index(int(i), (window,) * depth)) for i in flat]
    ranked = top_paths(log_p, total) if total <= 20_000 else None
    if ranked is None:
        raise ValueError(f"quantile selection needs at most 20000 paths, this space has {total}")
    positions = np.unique(np.linspace(0, total - 1, count).round().astype(int))
    return [ranked[int(i)].path for i in positions]


def validate_ranks(base: TrialConfig, plan: ValidationPlan, results_dir: str) -> dict[str, Any]:
    """Run the whole validation through Ray Tune and write its result files; returns the summary."""
    started = time.perf_counter()
    depth, window = base.model.depth, len(plan.graphs)
    cells = tuple(tuple(plan.graphs) for _ in range(depth))
    trial = base.replace(model=base.model.replace(window=window), cells=cells)
    storage = os.path.join(os.path.abspath(results_dir), "ray")
    hyper_space = trial.to_dict() | {"seed": _grid([base.seed + r for r in range(plan.repeats)])}
    hyper = run_grid(
        hyper_trainable, hyper_space, name="hyper", storage_path=storage, num_trials=plan.repeats,
        cpus_per_trial=plan.cpus_per_trial, gpus_per_trial=plan.gpus_per_trial, max_concurrent=plan.max_concurrent,
    )
    alpha = average_alpha([o.metrics["alpha"] for o in hyper])
    log_p = log_probs(alpha)
    rng = np.random.default_rng(base.seed)
    paths = select_paths(log_p, plan.num_paths, plan.path_selection, rng)
    path_configs = [
        standalone_config(trial, [plan.graphs[k] for k in path], plan.standalone_epochs).to_dict()["cells"]
        for path in paths
    ]
    seeds = [base.seed + 1000 + s for s in range(plan.standalone_seeds)]
    template = standalone_config(trial, [plan.graphs[0]] * depth, plan.standalone_epochs).to_dict()
    standalone_space = template | {"cells": _grid(path_configs), "seed": _grid(seeds)}
    standalone = run_grid(
        standalone_trainable, standalone_space, name="standalone", storage_path=storage,
        num_trials=len(paths) * len(seeds), cpus_per_trial=plan.cpus_per_trial,
        gpus_per_trial=plan.gpus_per_trial, max_concurrent=plan.max_concurrent,
    )
    rows: list[dict[str, Any]] = []
    for path, cells_json in zip(paths, path_configs, strict=True):
        accs = [o.metrics["test_acc"] for o in standalone if o.config["cells"] == cells_json]
        vals = [o.metrics["val_acc"] for o in standalone if o.config["cells"] == cells_json]
        rows.append({
            "path": "-".join(map(str, path)),
            "log_rank": path_log_rank(log_p, path),
            "test_acc_mean": float(np.mean(accs)),
            "test_acc_std": float(np.std(accs)),
            "val_acc_mean": float(np.mean(vals)),
            "seeds": len(accs),
        })
    ranks = [r["log_rank"] for r in rows]
    accs = [r["test_acc_mean"] for r in rows]
    rho, tau = spearman(ranks, accs), kendall(ranks, accs)
    summary = {
        # NaN (e.g. every accuracy equal) is written as null: strict JSON has no NaN
        "spearman_rho": _finite_or_none(rho.coefficient),
        "spearman_p": _finite_or_none(rho.p_value),
        "kendall_tau": _finite_or_none(tau.coefficient),
        "kendall_p": _finite_or_none(tau.p_value),
        "alpha_mean": alpha.tolist(),
        "alpha_per_repeat": [o.metrics["alpha"] for o in hyper],
        "hyper_val_acc": [o.metrics["val_acc"] for o in hyper],
        "paths": rows,
        "graphs": list(plan.graphs),
        "plan": {k: v for k, v in asdict(plan).items() if k != "graphs"},
        "trial_config": trial.to_dict(),
        "wall_time_s": time.perf_counter() - started,
    }
    os.makedirs(results_dir, exist_ok=True)
    write_json(os.path.join(results_dir, "rank_validation.json"), summary)
    write_csv(os.path.join(results_dir, "paths.csv"), rows)
    plot_rank_scatter(os.path.join(results_dir, "rank_scatter.png"), ranks, accs, rho.coefficient, rho.p_value)
    plot_alpha_heatmap(os.path.join(results_dir, "alpha.png"), alpha.tolist())
    return summary


def _finite_or_none(value: float) -> float | None:
    return value if np.isfinite(value) else None


def _grid(values: Sequence[Any]) -> dict[str, list[Any]]:
    """Ray Tune's grid-search marker, written out so this module needs no Ray import."""
    return {"grid_search": list(values)}
