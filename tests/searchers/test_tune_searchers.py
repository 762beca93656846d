"""The searchers driving real (tiny) Ray Tune runs with a stub trainable (plain Python, no torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import searcher_stub
from ray import cloudpickle, tune

from searchers.base import BatchSearcher
from searchers.evolution import EvolutionSearcher
from searchers.fade import FaDESearcher
from searchers.random import RandomSearcher
from spaces.dag import DagSpace

pytestmark = pytest.mark.usefixtures("ray_session")

# Workers cannot import this test directory: ship the stub by value.
cloudpickle.register_pickle_by_value(searcher_stub)

PARAM_SPACE = {"model": {"depth": 2, "window": 4}, "train": {"epochs": 1}}


def run(searcher: BatchSearcher, tmp_path: Path) -> tune.ResultGrid:
    tuner = tune.Tuner(
        searcher_stub.stub_trainable,
        param_space=PARAM_SPACE,
        tune_config=tune.TuneConfig(
            search_alg=searcher, num_samples=-1, metric="val_acc", mode="max", reuse_actors=True
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    )
    results = tuner.fit()
    assert not results.errors
    return results


def test_fade_in_tune_moves_anchors_toward_the_winning_cells(tmp_path: Path) -> None:
    space = DagSpace(6)
    searcher = FaDESearcher(space, depth=2, window=6, iterations=3, gamma=0.2, step=2.0, repeats=2, seed=3)
    results = run(searcher, tmp_path)
    assert len(results) == 6 and searcher.finished
    assert [r["status"] for r in searcher.history] == ["ok"] * 3
    assert all(r["repeats_ok"] == 2 for r in searcher.history)
    axis = space.feature_names.index("num_vertices")
    start = np.array(searcher.history[0]["anchors_before"])[:, axis]
    end = np.array(searcher.history[-1]["anchors_after"])[:, axis]
    assert np.all(end >= start) and np.all((end > start) | (start == 1.0))
    first = results[0].config
    assert first["model"] == PARAM_SPACE["model"] and len(first["cells"]) == 2  # merged over param_space
    assert len(searcher.best()) == 1 and searcher.final_path() == searcher.best()[0]
    restored = FaDESearcher(space, depth=2, window=6, iterations=3, gamma=0.2, step=2.0, repeats=2, seed=3)
    restored.restore_from_dir(str(Path(results.experiment_path)))  # what Tuner.restore does
    assert restored.history == searcher.history and restored.finished


def test_evolution_in_tune(tmp_path: Path) -> None:
    searcher = EvolutionSearcher(
        DagSpace(5), depth=2, window=4, iterations=2, prune_k=2, eval_paths=3, seed=1
    )
    results = run(searcher, tmp_path)
    assert len(results) == 2 and searcher.finished
    assert results[0].config["train"] == {"epochs": 1, "prune_k": 2, "fair_epochs": 1, "eval_paths": 3}
    assert all(len(r["paths"]) == 3 for r in searcher.history)
    assert len(searcher.best(2)) == 2


def test_random_in_tune(tmp_path: Path) -> None:
    searcher = RandomSearcher(DagSpace(5), depth=2, window=4, iterations=2, repeats=2, seed=2)
    results = run(searcher, tmp_path)
    assert len(results) == 4 and searcher.finished
    assert all(r["best_path"] is not None for r in searcher.history)


def test_failed_trials_are_recorded_and_the_search_ends(tmp_path: Path) -> None:
    searcher = FaDESearcher(DagSpace(4), depth=1, window=2, iterations=2, seed=0)
    tuner = tune.Tuner(
        searcher_stub.failing_trainable,
        param_space=PARAM_SPACE,
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1, metric="val_acc", mode="max"),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    )
    results = tuner.fit()
    assert len(results.errors) == 2 and searcher.finished
    assert [r["status"] for r in searcher.history] == ["failed", "failed"]
    assert searcher.history[-1]["anchors_after"] == searcher.history[0]["anchors_before"]
    assert searcher.best() == [] and searcher.best(5) == [] and searcher.final_path() is None
