"""FaDE section 3.1 on Ray Tune: do FaDE ranks predict stand-alone accuracy?

The same ``n_g`` DAGs stand in every row of a hyper-architecture; it is trained ``repeats`` times (parallel
Tune trials) and, after its last epoch, scores every path by validation accuracy with the shared weights and
every cell by perturbation (DARTS-PT); a sample of paths is trained from scratch with several seeds (parallel
Tune trials). Spearman's rho between each rank source (alpha, row-standardised alpha, path-wise accuracy,
perturbation; averaged over the repeats) and the mean stand-alone accuracy says how well the source predicts;
the ceiling, the attainable rho and the agreement between repeats say what could be measured. The plan, the
path choice and the summary live in ``hiernas.fade.rank_validation``. ``validate_ranks_on_table`` takes a
benchmark table as the ground truth instead of stand-alone trainings (``hiernas.fade.table_ranks``).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import numpy as np
from ray import tune

from hiernas.benchmark_table import BenchmarkTable
from hiernas.fade.config import TrialConfig
from hiernas.fade.rank_validation import (
    CELL_SOURCES,
    PATHWISE_SCORED_PATHS,
    RankSources,
    ValidationPlan,
    path_row,
    paths_to_score,
    random_paths,
    rank_sources,
    repeat_halves,
    select_paths,
    summarise,
    write_validation,
)
from hiernas.fade.ranks import average_alpha
from hiernas.fade.standalone import standalone_config
from hiernas.fade.table_ranks import cell_rows, cells_across_range, summarise_table_ranks, write_table_ranks
from hiernas.tune.runtime import TrialOutcome, run_grid
from hiernas.tune.storage import resolve_storage
from hiernas.tune.trainables import hyper_trainable, standalone_trainable

# what the repeats reported: alphas, path-wise accuracies per path, cell scores per cell source
PerRepeat = tuple[list[Any], list[dict[tuple[int, ...], float]], dict[str, list[Any]]]


def _train_hyper(trial: TrialConfig, plan: ValidationPlan, resources: dict[str, Any]) -> tuple[
        list[TrialOutcome], PerRepeat, RankSources]:
    """``plan.repeats`` trainings of ``trial``: the outcomes, what each repeat reported (``_per_repeat``), and
    their rank sources averaged over the repeats with each source's agreement between repeats."""
    space = trial.to_dict() | {"seed": tune.grid_search([trial.seed + r for r in range(plan.repeats)])}
    hyper = run_grid(hyper_trainable, space, name="hyper", num_trials=plan.repeats, **resources)
    per_repeat = _per_repeat(hyper, trial)
    return hyper, per_repeat, rank_sources(*per_repeat)


def _per_repeat(hyper: list[TrialOutcome], trial: TrialConfig) -> PerRepeat:
    """What each repeat reported: softmaxed alpha, path-wise accuracy per scored path, cell scores."""
    alphas = [o.metrics["alpha"] for o in hyper]
    pathwise = [
        {tuple(int(c) for c in p): float(a) for p, a in zip(o.metrics["path_indices"], o.metrics["path_val_acc"],
                                                            strict=True)}
        for o in hyper
    ]
    cells = {name: [o.metrics[name] for o in hyper] for name in (CELL_SOURCES if trial.train.perturbation else ())}
    return alphas, pathwise, cells


def validate_ranks_on_table(
    base: TrialConfig, plan: ValidationPlan, table: BenchmarkTable, count: int, results_dir: str,
    storage: str | None = None,
) -> dict[str, Any]:
    """Our ranks of ``count`` NAS-Bench-201 cells (across the table's accuracy range, the same cells in every
    row) against the table's accuracy; writes ``table_ranks.json`` and its companions, returns the summary."""
    started = time.perf_counter()
    archs = cells_across_range(table, count)
    depth = base.model.depth
    trial = base.replace(model=base.model.replace(window=len(archs), space="nb201"),
                         cells=tuple(tuple(archs) for _ in range(depth)),
                         train=base.train.replace(eval_paths=len(archs) ** depth, perturbation=True))
    resources: dict[str, Any] = {"cpus_per_trial": plan.cpus_per_trial, "gpus_per_trial": plan.gpus_per_trial,
                                 "max_concurrent": plan.max_concurrent,
                                 "storage_path": resolve_storage(storage, results_dir)}
    hyper, _, ranks = _train_hyper(trial, plan, resources)
    summary = summarise_table_ranks(cell_rows(archs, table, ranks), table, ranks.agreement, {
        "alpha_mean": np.exp(ranks.log_p).tolist(),
        "hyper_val_acc": [o.metrics["val_acc"] for o in hyper],
        "repeats": plan.repeats,
        "trial_config": trial.to_dict(),
        "wall_time_s": time.perf_counter() - started,
    })
    write_table_ranks(results_dir, summary)
    return summary


def validate_ranks(
    base: TrialConfig, plan: ValidationPlan, results_dir: str, storage: str | None = None
) -> dict[str, Any]:
    """Run the whole validation through Ray Tune and write its result files; returns the summary.

    Tune's experiments go to ``storage`` (``hiernas.tune.storage``; None: ``<results_dir>/ray``).
    """
    started = time.perf_counter()
    depth, window = base.model.depth, len(plan.graphs)
    cells = tuple(tuple(plan.graphs) for _ in range(depth))
    rng = np.random.default_rng(base.seed)
    # a random selection does not depend on the ranks: drawn first, the repeats score those paths (and a
    # sample for the path-wise agreement) instead of every path; a quantile selection needs every path scored
    paths = random_paths(plan.num_paths, depth, window, rng) if plan.path_selection == "random" else None
    scoring = ({"scored_paths": tuple(paths_to_score(paths, depth, window, PATHWISE_SCORED_PATHS, base.seed + 1))}
               if paths is not None else {"eval_paths": window**depth})
    trial = base.replace(model=base.model.replace(window=window), cells=cells,
                         train=base.train.replace(**scoring, perturbation=True))  # every cell
    storage = resolve_storage(storage, results_dir)
    resources: dict[str, Any] = {"cpus_per_trial": plan.cpus_per_trial, "gpus_per_trial": plan.gpus_per_trial,
                                 "max_concurrent": plan.max_concurrent, "storage_path": storage}
    hyper, per_repeat, ranks = _train_hyper(trial, plan, resources)
    alphas, _, cell_scores_per_repeat = per_repeat
    halves = repeat_halves(*per_repeat)
    if paths is None:
        paths = select_paths(ranks.log_p, plan.num_paths, plan.path_selection, rng)
    path_cells = [
        standalone_config(trial, [plan.graphs[k] for k in path], plan.standalone_epochs).to_dict()["cells"]
        for path in paths
    ]
    seeds = [base.seed + 1000 + s for s in range(plan.standalone_seeds)]
    template = standalone_config(trial, [plan.graphs[0]] * depth, plan.standalone_epochs).to_dict()
    standalone_space = template | {"cells": tune.grid_search(path_cells), "seed": tune.grid_search(seeds)}
    standalone = run_grid(standalone_trainable, standalone_space, name="standalone",
                          num_trials=len(paths) * len(seeds), **resources)
    rows = [
        path_row(path, ranks,
                 [o.metrics for o in sorted(standalone, key=lambda o: int(o.config["seed"]))
                  if o.config["cells"] == cells_json])
        for path, cells_json in zip(paths, path_cells, strict=True)
    ]
    summary = summarise(rows, average_alpha(alphas), ranks.agreement, {
        "alpha_per_repeat": alphas,
        # each repeat's depth x window cell scores: which repeats the averages rest on can be re-examined
        "cell_scores_per_repeat": cell_scores_per_repeat,
        "hyper_val_acc": [o.metrics["val_acc"] for o in hyper],
        "graphs": list(plan.graphs),
        "plan": {k: v for k, v in asdict(plan).items() if k != "graphs"},
        "trial_config": trial.to_dict(),
        "wall_time_s": time.perf_counter() - started,
    }, repeats=plan.repeats, halves=halves)
    write_validation(results_dir, summary)
    return summary
