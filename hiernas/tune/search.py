"""The hierarchical search on Ray Tune: a ``searchers`` Searcher proposes hyper-architectures, each
trial trains one with ``hiernas.tune.trainables.hyper_trainable``, and the best path is trained from
scratch. ``SearchJob`` checks what it can before Ray starts (results directory, searcher settings,
data), builds its searcher once, and ``run()`` runs or resumes the search.

After the search, the top ``race_paths`` paths over all iterations race as stand-alone trainings under
ASHA (``hiernas.tune.race``) and the winner gets the final training. Tune's experiments live in the
storage (``hiernas.tune.storage``: ``<results>/ray`` by default, or a URI every node of a cluster
reaches); a search that produced no successful iteration raises ``TrialError`` naming the first trial's
error, and writes no result file.

Writes to the results directory (all atomically): ``search.json`` (settings and every iteration's
record), ``trajectories.csv`` (anchors per iteration, FaDE), ``best.json`` (best path, its cells, ranks,
the race and stand-alone accuracy), ``trajectories.png`` and ``progress.png``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from ray import tune

from hiernas.benchmark_table import BenchmarkTable, benchmark_entry
from hiernas.errors import Interrupted, TrialError
from hiernas.fade.config import TrialConfig
from hiernas.fade.outputs import write_search_outputs
from hiernas.fade.standalone import standalone_config
from hiernas.results import read_json, write_json
from hiernas.splits import make_splits
from hiernas.tune import storage as store
from hiernas.tune.checkpoint_repair import FirstStepCallback
from hiernas.tune.race import RaceSchedule, distinct_paths, run_race
from hiernas.tune.runtime import ProgressBar, first_error_line, make_tuner, run_grid
from hiernas.tune.trainables import hyper_trainable, standalone_trainable
from searchers import SEARCHERS, BatchSearcher, PathRecord, make_searcher
from searchers.fade import TIES
from searchers.reconcile import KnownTrial
from searchers.records import RANK_SOURCES
from spaces.registry import make_space

EXPERIMENT = "search"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchSettings:
    """The outer search's own settings (the trial settings live in ``TrialConfig``)."""

    searcher: str = "fade"
    iterations: int = 5
    repeats: int = 1
    gamma: float = 0.1
    step: float = 1.0
    fade_step: str = "least_squares"  # FaDE's pseudo-gradient estimator: searchers.fade.ESTIMATORS
    fade_ties: str = "random"  # FaDE's choice among equally near cells: searchers.fade.TIES
    # what ranks the cells: alpha | pathwise (the trials must score paths: train.eval_paths) | perturbation |
    # perturbation_loss (the trials must score cells: train.perturbation)
    rank: str = "alpha"
    max_vertices: int = 6
    final_epochs: int = 15
    final_seeds: int = 1  # final trainings of the chosen path (seeds base.seed, +1, ...); test_acc is their mean
    race_paths: int = 4  # top paths over all iterations raced under ASHA; 0 or 1: the searcher's best wins
    race_epochs: int = 6  # ASHA's max_t: stand-alone epochs of a path that survives every rung
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
        if self.fade_ties not in TIES:
            raise ValueError(f"fade_ties must be one of {list(TIES)}, got {self.fade_ties!r}")
        if self.rank not in RANK_SOURCES:
            raise ValueError(f"rank must be one of {list(RANK_SOURCES)}, got {self.rank!r}")
        if self.final_seeds < 1:
            raise ValueError(f"final_seeds must be >= 1, got {self.final_seeds}")
        if self.race_paths < 0 or self.race_epochs < 1:
            raise ValueError(f"race paths must be >= 0 and race epochs >= 1, got {self.race_paths} and "
                             f"{self.race_epochs}")


def build_searcher(settings: SearchSettings, base: TrialConfig) -> BatchSearcher:
    """The named searcher over the trials' cell space (``base.model.space``), seeded by the trial seed, ranking
    cells by ``settings.rank``."""
    if settings.rank == "pathwise" and base.train.eval_paths < 1:
        raise ValueError("ranking cells path-wise needs trials that score paths (train.eval_paths >= 1)")
    if settings.rank.startswith("perturbation") and not base.train.perturbation:
        raise ValueError("ranking cells by perturbation needs trials that score them (train.perturbation)")
    if settings.rank.startswith("perturbation") and base.model.choice_mode == "gumbel_hard":
        logger.warning("rank %s scores the softmax(alpha) mixture, which hard Gumbel training never runs; it was "
                       "measured in softmax mode only (README, Rank validation). Its single-path form is "
                       "--rank pathwise (hiernas.fade.perturbation)", settings.rank)
    searcher = make_searcher(
        settings.searcher, make_space(base.model.space, settings.max_vertices), base.model.depth, base.model.window,
        settings.iterations, repeats=settings.repeats, seed=base.seed, gamma=settings.gamma, step=settings.step,
        estimator=settings.fade_step, ties=settings.fade_ties,
    )
    searcher.set_rank_source(settings.rank)
    return searcher


def _fingerprint(settings: SearchSettings, base: TrialConfig) -> dict[str, Any]:
    keep = {k: v for k, v in asdict(settings).items() if k not in ("max_concurrent", "max_failures")}
    return {"search": keep, "trial": base.to_dict()}


def check_resume(results_dir: str, settings: SearchSettings, base: TrialConfig, resume: bool) -> bool:
    """Whether to restore an earlier run; refuses a directory that belongs to another configuration."""
    marker = os.path.join(results_dir, "search_config.json")
    if not resume:
        if os.path.exists(marker):
            raise ValueError(f"{results_dir} already holds a search; resume it or choose another results directory")
        return False
    if not os.path.exists(marker):
        raise ValueError(f"cannot resume: {results_dir} holds no search (no search_config.json)")
    saved = read_json(marker)
    if isinstance(saved.get("search"), dict):
        # searches from before ties were drawn and before several final seeds
        saved["search"] = {"fade_ties": "index", "final_seeds": 1, **saved["search"]}
    if isinstance(saved.get("trial"), dict):
        # fields added since the search started take their defaults, which keep the old behaviour
        try:
            saved["trial"] = TrialConfig.from_dict(saved["trial"]).to_dict()
        except (TypeError, ValueError):
            pass  # not a trial config of this version: the comparison below refuses it
    if {key: saved.get(key) for key in ("search", "trial")} != _fingerprint(settings, base):
        raise ValueError(f"cannot resume: {results_dir} belongs to a different configuration")
    return True


def search_storage(results_dir: str, storage: str | None, restoring: bool) -> str:
    """Where the search's Tune experiments live: a resumed search keeps the storage it started with."""
    if not restoring:
        return store.resolve_storage(storage, results_dir)
    saved = read_json(os.path.join(results_dir, "search_config.json")).get("storage")
    recorded = saved or store.resolve_storage(None, results_dir)  # searches from before --storage
    if storage and store.resolve_storage(storage, results_dir) != recorded:
        raise ValueError(f"cannot resume: the search's experiments are in {recorded}, not in {storage}")
    return str(recorded)


class TrialTableSync(FirstStepCallback):
    """Hands Tune's restored trial table to the searcher once, before Tune first asks it for trials.

    Tune uploads its trial table and the searcher state as separate files in the background, so a killed
    driver can leave them from different moments; ``BatchSearcher.reconcile`` settles the difference (see
    ``searchers.reconcile``). Tune pickles this callback and the searcher into one ``tuner.pkl``, so the
    restored callback holds the very searcher Tune restores. On a fresh run the table is empty: nothing to do.
    """

    def __init__(self, searcher: BatchSearcher) -> None:
        super().__init__()
        self.searcher = searcher

    def on_first_step(self, trials: list[Any]) -> None:
        table = [KnownTrial(t.trial_id, t.status, t.last_result or None, t.config) for t in trials]
        done = self.searcher.reconcile(table)
        if any(done.values()):
            logger.warning("the restored searcher state and trial table differed; settled: %s", done)


class SearchJob:
    """One outer search: checked and set up at construction (before Ray starts), run by ``run()``.

    Construction raises ``ValueError`` (or ``DataError``, ``StorageError``) for a foreign or missing results
    directory, searcher settings the searcher refuses, data that cannot be loaded and split, or a storage
    URI that cannot be parsed. ``storage`` (None: ``<results>/ray``) holds Tune's experiments. With a
    NAS-Bench-201 ``benchmark`` table, every iteration's best path and the final path get the table's
    accuracy of their cells in the result files (labelled as the benchmark's, not ours).
    """

    def __init__(self, settings: SearchSettings, base: TrialConfig, results_dir: str, resume: bool = False,
                 storage: str | None = None, benchmark: BenchmarkTable | None = None) -> None:
        if benchmark is not None and base.model.space != "nb201":
            raise ValueError(f"a benchmark table scores NAS-Bench-201 cells; this search is over {base.model.space}")
        self.settings, self.base, self.benchmark = settings, base, benchmark
        self.results_dir = os.path.abspath(results_dir)
        self.restoring = check_resume(self.results_dir, settings, base, resume)
        self.searcher = build_searcher(settings, base)
        make_splits(base.data, base.seed)  # bad data fails here, not in every trial
        self.storage = search_storage(self.results_dir, storage, self.restoring)
        self.experiment = store.join(self.storage, EXPERIMENT)

    def run(self, callbacks: Sequence[tune.Callback] = ()) -> dict[str, Any]:
        """Run (or resume) the search, race its top paths, train the winner from scratch, write all result files.

        ``callbacks`` are extra Tune callbacks of the search experiment (e.g. timers in ``bench/``). Raises
        ``TrialError`` (no result file written) when no iteration succeeded or the race or final training failed,
        and ``Interrupted`` (nothing written either) when Tune was stopped before the last iteration.
        """
        started = time.perf_counter()
        settings, base = self.settings, self.base
        write_json(os.path.join(self.results_dir, "search_config.json"),
                   {**_fingerprint(settings, base), "storage": self.storage})
        total = settings.iterations * settings.repeats
        # unfinished trials resume under their ids (the restored searcher waits for them); trials that had
        # failed for good were already reported to the searcher as failed, so they are not run again
        tuner = make_tuner(
            hyper_trainable,
            name=EXPERIMENT,
            storage_path=self.storage,
            param_space={k: v for k, v in base.to_dict().items() if k != "cells"},
            cpus_per_trial=settings.cpus_per_trial,
            gpus_per_trial=settings.gpus_per_trial,
            max_failures=settings.max_failures,
            callbacks=[ProgressBar(total, f"{settings.searcher} search", "val_acc"), TrialTableSync(self.searcher),
                       *callbacks],
            restore=self.restoring,
            resume_errored=False,
            snapshot_each_checkpoint=True,  # a finished trial is in Tune's snapshot before anything else runs
            search_alg=self.searcher,
            num_samples=-1,
            metric="val_acc",
            mode="max",
            max_concurrent_trials=settings.max_concurrent or settings.repeats,
        )
        fit_started = time.perf_counter()
        grid = tuner.fit()
        search_time = time.perf_counter() - fit_started
        if self.restoring:  # Tune ran its own unpickled copy of the searcher: read back its saved state
            _restore_searcher_state(self.experiment, self.searcher)
        if not self.searcher.finished:
            # Tune stops on SIGINT (Ctrl-C) or SIGUSR1 by saving its state and returning as if done: a search
            # cut short must not race, train or write results (run it again with resume to finish it)
            raise Interrupted(f"the search was interrupted after {self.searcher.iteration} of {settings.iterations} "
                              f"iterations; resume it to finish (its Tune state: {self.experiment})")
        history = self.searcher.history
        if self.benchmark is not None:
            history = [self._with_benchmark(record) for record in history]
        if not any(record["status"] == "ok" for record in history):
            errors = [first_error_line(error) for error in grid.errors]
            raise TrialError(f"the search failed: no iteration succeeded; first trial error: "
                             f"{errors[0] if errors else 'none reported a valid result'} (trial logs in "
                             f"{self.experiment})")
        best_json = self._final_training(*self._final_choice())
        summary: dict[str, Any] = {
            "settings": asdict(settings),
            "trial_config": base.to_dict(),
            "iterations": history,
            "search_time_s": search_time,
            "experiment_dir": self.experiment,
            "wall_time_s": time.perf_counter() - started,
        }
        write_search_outputs(self.results_dir, summary, best_json, history, self.searcher.space.feature_names)
        return {
            "best": best_json,
            "iterations": len(history),
            "wall_time_s": summary["wall_time_s"],
            "search_time_s": search_time,
            "experiment_dir": self.experiment,
        }

    def _final_choice(self) -> tuple[PathRecord | None, dict[str, Any] | None]:
        """The path for the final training and the race that chose it (None without a race)."""
        settings = self.settings
        paths = distinct_paths(self.searcher.best(settings.race_paths)) if settings.race_paths > 1 else []
        if len(paths) < 2:
            return self.searcher.final_path(), None
        race = run_race(
            self.base, paths, RaceSchedule.for_epochs(settings.race_epochs), self.storage,
            cpus_per_trial=settings.cpus_per_trial, gpus_per_trial=settings.gpus_per_trial,
            max_failures=settings.max_failures, resume=self.restoring,
        )
        return paths[race["winner"]], race

    def _final_training(self, best: PathRecord | None, race: dict[str, Any] | None) -> dict[str, Any]:
        """best.json's content: the chosen path, the race, and with final epochs its stand-alone training."""
        settings = self.settings
        best_json: dict[str, Any] = {"found": best is not None}
        if best is None:
            return best_json
        best_json.update(
            {
                "iteration": best.iteration,
                "indices": list(best.indices),
                "cells": list(best.cells),
                "score": best.score,
                "metric": best.metric,
            }
        )
        if race is not None:
            best_json["race"] = race
        if self.benchmark is not None:
            best_json["benchmark"] = benchmark_entry(self.benchmark, list(best.cells))
        if settings.final_epochs > 0:
            final = standalone_config(self.base, list(best.cells), settings.final_epochs).to_dict()
            seeds = [self.base.seed + j for j in range(settings.final_seeds)]
            if len(seeds) > 1:  # one data split (split_seed), several initialisations, trained side by side
                final["seed"] = tune.grid_search(seeds)
            outcomes = run_grid(
                standalone_trainable,
                final,
                name="final",
                storage_path=self.storage,
                num_trials=len(seeds),
                cpus_per_trial=settings.cpus_per_trial,
                gpus_per_trial=settings.gpus_per_trial,
                max_failures=settings.max_failures,
                resume=self.restoring,  # a kill during the final training continues it from its last epoch
            )
            outcomes.sort(key=lambda outcome: int(outcome.config["seed"]))
            accuracies = [float(outcome.metrics["test_acc"]) for outcome in outcomes]
            best_json.update(
                {
                    "test_acc": float(np.mean(accuracies)),
                    "val_acc": float(np.mean([float(o.metrics["val_acc"]) for o in outcomes])),
                    "num_params": outcomes[0].metrics["num_params"],
                    "final_epochs": settings.final_epochs,
                    "final_seeds": [int(o.config["seed"]) for o in outcomes],
                    "final_test_accs": accuracies,
                    "final_test_acc_std": float(np.std(accuracies, ddof=1)) if len(accuracies) > 1 else None,
                }
            )
        return best_json


    def _with_benchmark(self, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` plus the table's accuracy of its best path's cells (``benchmark``)."""
        if self.benchmark is None or record.get("best_path") is None:
            return record
        cells = [row[k] for row, k in zip(record["cells"], record["best_path"], strict=True)]
        return {**record, "benchmark": benchmark_entry(self.benchmark, cells)}


def run_search(
    settings: SearchSettings,
    base: TrialConfig,
    results_dir: str,
    resume: bool = False,
    callbacks: Sequence[tune.Callback] = (),
    storage: str | None = None,
) -> dict[str, Any]:
    """``SearchJob(settings, base, results_dir, resume, storage).run(callbacks)``: for callers with Ray running."""
    return SearchJob(settings, base, results_dir, resume, storage).run(callbacks)


def _restore_searcher_state(experiment: str, searcher: BatchSearcher) -> None:
    """Load the searcher state Tune last saved in the experiment (a directory or a URI), also after a resume.

    Each Tune session writes ``searcher-state-<YYYY-mm-dd_HH-MM-SS>.pkl``; the newest session is the
    largest name. File times cannot tell: the final sync copies every session's file anew.
    """
    saved = store.list_names(experiment, "searcher-state-")
    if saved:
        searcher.set_state(store.read_json(store.join(experiment, saved[-1])))
