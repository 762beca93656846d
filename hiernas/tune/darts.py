"""Cell-level experiments on Ray Tune: a search with one trial per seed (genotypes, or NAS-Bench-201
architecture strings, ranked across seeds, result files written) and the retraining of one genotype."""

from __future__ import annotations

import os
from typing import Any

from ray import tune

from hiernas.darts.config import DartsConfig, EvalConfig
from hiernas.darts.plots import write_search_outputs
from hiernas.nb201.outputs import write_nb201_outputs
from hiernas.results import write_csv, write_json
from hiernas.tune.runtime import run_grid
from hiernas.tune.storage import resolve_storage
from hiernas.tune.trainables import darts_trainable, eval_trainable


def run_darts_seeds(
    cfg: DartsConfig,
    seeds: int,
    results_dir: str,
    cpus_per_trial: float = 1,
    gpus_per_trial: float = 0,
    max_concurrent: int | None = None,
    storage: str | None = None,
) -> list[dict[str, Any]]:
    """Search with seeds ``cfg.seed .. cfg.seed + seeds - 1`` as parallel trials; rank their genotypes.

    Writes per seed ``seed<k>_genotype.json`` (and drawings, alpha history, DARTS-PD trade-off), the best
    seed's outputs without prefix (``genotype.json``), ``genotypes_ranked.json``/``.csv`` and
    ``config.json``; Tune's experiment goes to ``storage`` (``hiernas.tune.storage``; None:
    ``<results_dir>/ray``). Returns the ranked rows (rank, seed, val_acc, genotype), best first.
    In the NAS-Bench-201 space (``cfg.space``) the files are ``hiernas.nb201.outputs``' (``arch.json``)
    and the rows carry ``arch``, the benchmark's architecture string, instead of ``genotype``.
    """
    write_outputs = write_nb201_outputs if cfg.space == "nb201" else write_search_outputs
    param_space = cfg.to_dict()
    param_space["seed"] = tune.grid_search(list(range(cfg.seed, cfg.seed + seeds)))
    outcomes = run_grid(
        darts_trainable,
        param_space,
        name=f"darts_{cfg.method}",
        storage_path=resolve_storage(storage, results_dir),
        num_trials=seeds,
        cpus_per_trial=cpus_per_trial,
        gpus_per_trial=gpus_per_trial,
        max_concurrent=max_concurrent,
        metric="val_acc",
    )
    ranked = sorted(outcomes, key=lambda o: -float(o.metrics.get("val_acc", 0.0)))
    rows = []
    for rank, outcome in enumerate(ranked, start=1):
        seed = int(outcome.config["seed"])
        write_outputs(results_dir, outcome.metrics, cfg.warmup_epochs, prefix=f"seed{seed}_")
        rows.append({"rank": rank, "seed": seed, "val_acc": outcome.metrics.get("val_acc"),
                     cfg.arch_key: outcome.metrics[cfg.arch_key]})
    write_outputs(results_dir, ranked[0].metrics, cfg.warmup_epochs)  # the best: genotype.json (arch.json)
    write_json(os.path.join(results_dir, "genotypes_ranked.json"), rows)
    write_csv(os.path.join(results_dir, "genotypes_ranked.csv"), rows)
    write_json(os.path.join(results_dir, "config.json"), cfg.to_dict())
    return rows


def run_retraining(
    cfg: EvalConfig, results_dir: str, cpus_per_trial: float = 1, gpus_per_trial: float = 0,
    storage: str | None = None,
) -> dict[str, Any]:
    """Train ``cfg.genotype`` from scratch as one trial; writes ``final.json``; returns the last metrics.

    ``storage`` holds Tune's experiment (``hiernas.tune.storage``; None: ``<results_dir>/ray``).
    """
    outcome = run_grid(
        eval_trainable,
        cfg.to_dict(),
        name="train_final",
        storage_path=resolve_storage(storage, results_dir),
        num_trials=1,
        cpus_per_trial=cpus_per_trial,
        gpus_per_trial=gpus_per_trial,
        metric="test_acc",
    )[0]
    metrics = outcome.metrics
    summary = {key: metrics.get(key) for key in ("epoch", "test_acc", "test_loss", "train_acc", "num_params")}
    write_json(os.path.join(results_dir, "final.json"), {**summary, "config": cfg.to_dict()})
    return metrics
