"""The hierarchical search on Ray Tune: a ``searchers`` Searcher proposes hyper-architectures, each
trial trains one with ``hiernas.trainable.hyper_trainable``, and the best path is trained from scratch.

Orchestration imports both hiernas and searchers, which must not import each other, so it lives here in
scripts/ beside its entry point ``fade_search.py``.

Writes to the results directory (all atomically): ``search.json`` (settings and every iteration's
record), ``trajectories.csv`` (anchors per iteration, FaDE), ``best.json`` (best path, its cells, ranks
and stand-alone accuracy), ``trajectories.png`` and ``progress.png``.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ray import tune

from hiernas.config import TrialConfig
from hiernas.evaluate import standalone_config
from hiernas.results import plot_panels, plot_trajectories, read_json, write_csv, write_json
from hiernas.runtime import ProgressBar, run_grid, short_trial_dirname
from hiernas.trainable import hyper_trainable, standalone_trainable
from searchers.base import BatchSearcher
from searchers.evolution import EvolutionSearcher
from searchers.fade import FaDESearcher
from searchers.random import RandomSearcher
from spaces.dag import DagSpace

SEARCHERS = ("fade", "evolution", "random")
EXPERIMENT = "search"


@dataclass(frozen=True)
class SearchSettings:
    """The outer search's own settings (the trial settings live in ``TrialConfig``)."""

    searcher: str = "fade"
    iterations: int = 5
    repeats: int = 1
    gamma: float = 0.1
    step: float = 1.0
    max_vertices: int = 6
    final_epochs: int = 15
    cpus_per_trial: float = 1
    gpus_per_trial: float = 0
    max_concurrent: int | None = None
    max_failures: int = 2

    def __post_init__(self) -> None:
        if self.searcher not in SEARCHERS:
            raise ValueError(f"unknown searcher {self.searcher!r}; expected one of {list(SEARCHERS)}")
        if self.iterations < 1 or self.repeats < 1:
            raise ValueError("iterations and repeats must be >= 1")
        if not 0 < self.gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {self.gamma}")
        if not self.step > 0:
            raise ValueError(f"step must be > 0, got {self.step}")


def make_searcher(settings: SearchSettings, base: TrialConfig) -> BatchSearcher:
    """The named searcher over the DAG space, seeded by the trial seed."""
    space = DagSpace(settings.max_vertices)
    common: dict[str, Any] = {"repeats": settings.repeats, "metric": "val_acc", "mode": "max", "seed": base.seed}
    depth, window, iters = base.model.depth, base.model.window, settings.iterations
    if settings.searcher == "fade":
        return FaDESearcher(space, depth, window, iters, gamma=settings.gamma, step=settings.step, **common)
    if settings.searcher == "evolution":
        return EvolutionSearcher(space, depth, window, iters, **common)
    return RandomSearcher(space, depth, window, iters, **common)


def _fingerprint(settings: SearchSettings, base: TrialConfig) -> dict[str, Any]:
    keep = {k: v for k, v in asdict(settings).items() if k not in ("max_concurrent", "max_failures")}
    return {"search": keep, "trial": base.to_dict()}


def check_resume(results_dir: str, settings: SearchSettings, base: TrialConfig, resume: bool) -> bool:
    """Whether to restore an earlier run; refuses a directory that belongs to another configuration."""
    marker = os.path.join(results_dir, "search_config.json")
    if not resume:
        if os.path.exists(marker):
            raise ValueError(f"{results_dir} already holds a search; pass --resume or choose another --results")
        return False
    if not os.path.exists(marker):
        raise ValueError(f"--resume: {results_dir} holds no search to resume (no search_config.json)")
    if read_json(marker) != _fingerprint(settings, base):
        raise ValueError(f"--resume: {results_dir} belongs to a different configuration; use the same flags")
    return True


def run_search(
    settings: SearchSettings,
    base: TrialConfig,
    results_dir: str,
    resume: bool = False,
    callbacks: Sequence[tune.Callback] = (),
) -> dict[str, Any]:
    """Run (or resume) the search, train the best path from scratch, write all result files.

    ``callbacks`` are extra Tune callbacks of the search experiment (e.g. timers in ``bench/``).
    """
    started = time.perf_counter()
    results_dir = os.path.abspath(results_dir)
    restoring = check_resume(results_dir, settings, base, resume)
    searcher = make_searcher(settings, base)
    write_json(os.path.join(results_dir, "search_config.json"), _fingerprint(settings, base))
    storage = os.path.join(results_dir, "ray")
    trainable = tune.with_resources(hyper_trainable, {"cpu": settings.cpus_per_trial, "gpu": settings.gpus_per_trial})
    experiment = os.path.join(storage, EXPERIMENT)
    total = settings.iterations * settings.repeats
    if restoring and tune.Tuner.can_restore(experiment):
        # unfinished trials resume under their ids (the restored searcher waits for them); trials that had
        # failed for good were already reported to the searcher as failed, so they are not run again
        tuner = tune.Tuner.restore(experiment, trainable, resume_unfinished=True, resume_errored=False)
    else:
        param_space = {k: v for k, v in base.to_dict().items() if k != "cells"}
        tuner = tune.Tuner(
            trainable,
            param_space=param_space,
            tune_config=tune.TuneConfig(
                search_alg=searcher,
                num_samples=-1,
                metric="val_acc",
                mode="max",
                max_concurrent_trials=settings.max_concurrent or settings.repeats,
                reuse_actors=True,
                trial_dirname_creator=short_trial_dirname,
            ),
            run_config=tune.RunConfig(
                name=EXPERIMENT,
                storage_path=storage,
                verbose=0,
                failure_config=tune.FailureConfig(max_failures=settings.max_failures),
                callbacks=[ProgressBar(total, f"{settings.searcher} search", "val_acc"), *callbacks],
            ),
        )
    fit_started = time.perf_counter()
    tuner.fit()
    search_time = time.perf_counter() - fit_started
    searcher = _restored_searcher(experiment, make_searcher(settings, base)) if restoring else searcher
    history = searcher.history
    best = searcher.final_path()
    summary: dict[str, Any] = {
        "settings": asdict(settings),
        "trial_config": base.to_dict(),
        "iterations": history,
        "search_time_s": search_time,
        "experiment_dir": experiment,
    }
    best_json: dict[str, Any] = {"found": best is not None}
    if best is not None:
        best_json.update(
            {
                "iteration": best.iteration,
                "indices": list(best.indices),
                "cells": list(best.cells),
                "score": best.score,
                "metric": best.metric,
            }
        )
        if settings.final_epochs > 0:
            final = standalone_config(base, list(best.cells), settings.final_epochs)
            outcome = run_grid(
                standalone_trainable,
                final.to_dict(),
                name="final",
                storage_path=storage,
                num_trials=1,
                cpus_per_trial=settings.cpus_per_trial,
                gpus_per_trial=settings.gpus_per_trial,
                max_failures=settings.max_failures,
                resume=restoring,  # a kill during the final training continues it from its last epoch
            )[0]
            best_json.update(
                {
                    "test_acc": outcome.metrics["test_acc"],
                    "val_acc": outcome.metrics["val_acc"],
                    "num_params": outcome.metrics["num_params"],
                    "final_epochs": settings.final_epochs,
                }
            )
    summary["wall_time_s"] = time.perf_counter() - started
    _write_outputs(results_dir, summary, best_json, history, searcher.space.feature_names)
    return {
        "best": best_json,
        "iterations": len(history),
        "wall_time_s": summary["wall_time_s"],
        "search_time_s": search_time,
        "experiment_dir": experiment,
    }


def _restored_searcher(experiment: str, fresh: BatchSearcher) -> BatchSearcher:
    """The searcher as Tune last saved it in the experiment directory (also after a resumed run).

    Each Tune session writes ``searcher-state-<YYYY-mm-dd_HH-MM-SS>.pkl``; the newest session is the
    largest name. File times cannot tell: the final sync copies every session's file anew.
    """
    saved = sorted(glob.glob(os.path.join(experiment, "searcher-state-*")))
    if saved:
        fresh.restore(saved[-1])
    return fresh


def _write_outputs(
    results_dir: str,
    summary: dict[str, Any],
    best: dict[str, Any],
    history: list[dict[str, Any]],
    feature_names: Sequence[str],
) -> None:
    """search.json, best.json, the anchor trajectories (FaDE: CSV and PNG) and progress.png."""
    write_json(os.path.join(results_dir, "search.json"), summary)
    write_json(os.path.join(results_dir, "best.json"), best)
    rows = _trajectory_rows(history)
    if rows:
        write_csv(os.path.join(results_dir, "trajectories.csv"), rows)
        trajectories: dict[int, list[list[float]]] = {}
        for r in rows:
            trajectories.setdefault(int(r["row"]), []).append([r[f"f{k}"] for k in range(len(feature_names))])
        names = [f"f{k}: {name}" for k, name in enumerate(feature_names)]
        plot_trajectories(
            os.path.join(results_dir, "trajectories.png"), trajectories, names, "iteration (last point: final anchor)"
        )
    panels: dict[str, list[float | None]] = {
        "hyper val_acc": [r.get("metric") for r in history],
        "best log-rank": [r.get("log_rank") for r in history],
    }
    if any(r.get("best_val_acc") is not None for r in history):  # evolution: path-wise, shared weights
        panels["best path val_acc"] = [r.get("best_val_acc") for r in history]
    plot_panels(os.path.join(results_dir, "progress.png"), panels, "iteration", "search progress")


def _trajectory_rows(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (iteration, row): the anchor an iteration started from; a last ``iteration = N`` row
    holds where the search ended (the last record's ``anchors_after``). Empty without anchors."""
    rows: list[dict[str, Any]] = []
    points = [(int(r["iteration"]), r.get("anchors_before")) for r in history]
    if history and history[-1].get("anchors_after") is not None:
        points.append((int(history[-1]["iteration"]) + 1, history[-1]["anchors_after"]))
    for iteration, anchors in points:
        if anchors is None:
            continue
        for row, point in enumerate(anchors):
            rows.append({"iteration": iteration, "row": row, **{f"f{k}": float(v) for k, v in enumerate(point)}})
    return rows
