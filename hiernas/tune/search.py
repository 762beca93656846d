"""The hierarchical search on Ray Tune: a ``searchers`` Searcher proposes hyper-architectures, each
trial trains one with ``hiernas.tune.trainables.hyper_trainable``, and the best path is trained from
scratch. ``SearchJob`` checks what it can before Ray starts (results directory, searcher settings,
data), builds its searcher once, and ``run()`` runs or resumes the search.

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

from hiernas.fade.config import TrialConfig
from hiernas.fade.outputs import write_search_outputs
from hiernas.fade.standalone import standalone_config
from hiernas.results import read_json, write_json
from hiernas.splits import make_splits
from hiernas.tune.runtime import ProgressBar, make_tuner, run_grid
from hiernas.tune.trainables import hyper_trainable, standalone_trainable
from searchers import SEARCHERS, BatchSearcher, PathRecord, make_searcher
from spaces.dag import DagSpace

EXPERIMENT = "search"


@dataclass(frozen=True)
class SearchSettings:
    """The outer search's own settings (the trial settings live in ``TrialConfig``)."""

    searcher: str = "fade"
    iterations: int = 5
    repeats: int = 1
    gamma: float = 0.1
    step: float = 1.0
    fade_step: str = "least_squares"  # FaDE's pseudo-gradient estimator: searchers.fade.ESTIMATORS
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


def build_searcher(settings: SearchSettings, base: TrialConfig) -> BatchSearcher:
    """The named searcher over the DAG space, seeded by the trial seed."""
    return make_searcher(
        settings.searcher, DagSpace(settings.max_vertices), base.model.depth, base.model.window,
        settings.iterations, repeats=settings.repeats, seed=base.seed, gamma=settings.gamma, step=settings.step,
        estimator=settings.fade_step,
    )


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
    if read_json(marker) != _fingerprint(settings, base):
        raise ValueError(f"cannot resume: {results_dir} belongs to a different configuration")
    return True


class SearchJob:
    """One outer search: checked and set up at construction (before Ray starts), run by ``run()``.

    Construction raises ``ValueError`` (or ``DataError``) for a foreign or missing results directory,
    searcher settings the searcher refuses, or data that cannot be loaded and split.
    """

    def __init__(self, settings: SearchSettings, base: TrialConfig, results_dir: str, resume: bool = False) -> None:
        self.settings, self.base = settings, base
        self.results_dir = os.path.abspath(results_dir)
        self.restoring = check_resume(self.results_dir, settings, base, resume)
        self.searcher = build_searcher(settings, base)
        make_splits(base.data, base.seed)  # bad data fails here, not in every trial
        self.storage = os.path.join(self.results_dir, "ray")
        self.experiment = os.path.join(self.storage, EXPERIMENT)

    def run(self, callbacks: Sequence[tune.Callback] = ()) -> dict[str, Any]:
        """Run (or resume) the search, train the best path from scratch, write all result files.

        ``callbacks`` are extra Tune callbacks of the search experiment (e.g. timers in ``bench/``).
        """
        started = time.perf_counter()
        settings, base = self.settings, self.base
        write_json(os.path.join(self.results_dir, "search_config.json"), _fingerprint(settings, base))
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
            callbacks=[ProgressBar(total, f"{settings.searcher} search", "val_acc"), *callbacks],
            restore=self.restoring,
            resume_errored=False,
            search_alg=self.searcher,
            num_samples=-1,
            metric="val_acc",
            mode="max",
            max_concurrent_trials=settings.max_concurrent or settings.repeats,
        )
        fit_started = time.perf_counter()
        tuner.fit()
        search_time = time.perf_counter() - fit_started
        if self.restoring:  # Tune ran its own unpickled copy of the searcher: read back its saved state
            _restore_searcher_state(self.experiment, self.searcher)
        history = self.searcher.history
        best_json = self._final_training(self.searcher.final_path())
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

    def _final_training(self, best: PathRecord | None) -> dict[str, Any]:
        """best.json's content: the chosen path and, with final epochs, its stand-alone training."""
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
        if settings.final_epochs > 0:
            final = standalone_config(self.base, list(best.cells), settings.final_epochs)
            outcome = run_grid(
                standalone_trainable,
                final.to_dict(),
                name="final",
                storage_path=self.storage,
                num_trials=1,
                cpus_per_trial=settings.cpus_per_trial,
                gpus_per_trial=settings.gpus_per_trial,
                max_failures=settings.max_failures,
                resume=self.restoring,  # a kill during the final training continues it from its last epoch
            )[0]
            best_json.update(
                {
                    "test_acc": outcome.metrics["test_acc"],
                    "val_acc": outcome.metrics["val_acc"],
                    "num_params": outcome.metrics["num_params"],
                    "final_epochs": settings.final_epochs,
                }
            )
        return best_json


def run_search(
    settings: SearchSettings,
    base: TrialConfig,
    results_dir: str,
    resume: bool = False,
    callbacks: Sequence[tune.Callback] = (),
) -> dict[str, Any]:
    """``SearchJob(settings, base, results_dir, resume).run(callbacks)``: for callers with Ray running."""
    return SearchJob(settings, base, results_dir, resume).run(callbacks)


def _restore_searcher_state(experiment: str, searcher: BatchSearcher) -> None:
    """Load the searcher state Tune last saved in the experiment directory (also after a resumed run).

    Each Tune session writes ``searcher-state-<YYYY-mm-dd_HH-MM-SS>.pkl``; the newest session is the
    largest name. File times cannot tell: the final sync copies every session's file anew.
    """
    saved = sorted(glob.glob(os.path.join(experiment, "searcher-state-*")))
    if saved:
        searcher.restore(saved[-1])
