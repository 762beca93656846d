"""Searchers by name (``make_searcher``) and the one ``best(n)`` contract every searcher keeps."""

from __future__ import annotations

import math
from typing import Any

import pytest
from searcher_stub import drive, stub_metrics

import searchers
from searchers import SEARCHERS, make_discrete_searcher, make_searcher
from searchers.base import BatchSearcher
from searchers.evolution import EvolutionSearcher
from searchers.fade import FaDESearcher
from searchers.random import RandomSearcher
from searchers.records import PathRecord, paths_from_history
from searchers.state import STATE_FORMAT
from searchers.stateful import StatefulSearcher
from spaces.dag import DagSpace

SPACE = DagSpace(4)
CLASSES: dict[str, type[BatchSearcher]] = {
    "fade": FaDESearcher,
    "evolution": EvolutionSearcher,
    "random": RandomSearcher,
}
SETTINGS: dict[str, Any] = {"repeats": 3, "seed": 7, "metric": "score", "mode": "min"}


def scored_metrics(config: dict[str, Any]) -> dict[str, Any]:
    """The stub's report with the metric that ``SETTINGS`` names."""
    metrics = stub_metrics(config)
    return {**metrics, "score": metrics["val_acc"]}


def test_the_names_are_exported_from_the_package() -> None:
    assert searchers.SEARCHERS == SEARCHERS == ("fade", "evolution", "random")
    assert searchers.make_searcher is make_searcher
    assert set(CLASSES) == set(SEARCHERS)


@pytest.mark.parametrize("name", SEARCHERS)
def test_each_name_builds_its_class_with_the_given_settings(name: str) -> None:
    searcher = make_searcher(name, SPACE, 2, 4, 5, gamma=0.3, step=0.5, **SETTINGS)
    assert type(searcher) is CLASSES[name]
    assert searcher.space is SPACE
    assert (searcher.depth, searcher.window, searcher.iterations) == (2, 4, 5)
    assert (searcher.repeats, searcher.seed, searcher.metric, searcher.mode) == (3, 7, "score", "min")


@pytest.mark.parametrize("name", SEARCHERS)
def test_make_searcher_equals_the_direct_construction(name: str) -> None:
    """Same class, same settings, same generator: the same state and the same suggestions."""
    built = make_searcher(name, SPACE, 2, 4, 3, gamma=0.2, step=2.0, **SETTINGS)
    if name == "fade":
        direct: BatchSearcher = FaDESearcher(SPACE, 2, 4, 3, gamma=0.2, step=2.0, **SETTINGS)
    else:
        direct = CLASSES[name](SPACE, 2, 4, 3, **SETTINGS)
    assert built.get_state() == direct.get_state()
    assert drive(built, scored_metrics) == drive(direct, scored_metrics)
    assert built.get_state() == direct.get_state()


def test_fade_takes_gamma_step_and_estimator_and_the_others_keep_their_defaults() -> None:
    fade = make_searcher("fade", SPACE, 1, 4, 1, gamma=0.25, step=3.0, estimator="paper")
    assert isinstance(fade, FaDESearcher)
    assert (fade.pseudo_gradient.gamma, fade.pseudo_gradient.step) == (0.25, 3.0)
    assert fade.pseudo_gradient.estimator == "paper"
    default = make_searcher("fade", SPACE, 1, 4, 1)
    assert isinstance(default, FaDESearcher)
    assert (default.pseudo_gradient.gamma, default.pseudo_gradient.step) == (0.1, 1.0)
    assert default.pseudo_gradient.estimator == "least_squares"
    assert (default.repeats, default.seed, default.metric, default.mode) == (1, 0, "val_acc", "max")
    evolution = make_searcher("evolution", SPACE, 1, 4, 1, gamma=0.25, step=3.0, estimator="paper")
    assert evolution.get_state() == EvolutionSearcher(SPACE, 1, 4, 1).get_state()
    random = make_searcher("random", SPACE, 1, 4, 1, gamma=0.25, step=3.0)
    assert random.get_state() == RandomSearcher(SPACE, 1, 4, 1).get_state()


def test_the_shared_options_are_keyword_only_and_default_in_one_place() -> None:
    """repeats, metric, mode and seed go by name (a positional one is refused, never read as another)."""
    for positional in (
        lambda: FaDESearcher(SPACE, 1, 4, 1, 0.1, 1.0, 2),
        lambda: EvolutionSearcher(SPACE, 1, 4, 1, 2, 1, 8, 2),
        lambda: RandomSearcher(SPACE, 1, 4, 1, 2),
    ):
        with pytest.raises(TypeError):
            positional()
    for cls in CLASSES.values():
        searcher = cls(SPACE, 1, 4, 1)
        assert (searcher.repeats, searcher.seed, searcher.metric, searcher.mode) == (1, 0, "val_acc", "max")
        assert isinstance(searcher, StatefulSearcher) and searcher.STATE_FORMAT == STATE_FORMAT
    rea = make_discrete_searcher("rea", SPACE, 5)
    assert isinstance(rea, StatefulSearcher) and (rea.seed, rea.metric, rea.mode) == (0, "val_acc", "max")
    assert (rea.population_size, rea.sample_size, rea.config_key) == (10, 3, "arch")


@pytest.mark.parametrize("name", ["FaDE", "darts", "", "evolution "])
def test_an_unknown_name_is_rejected_with_the_allowed_names(name: str) -> None:
    with pytest.raises(ValueError) as info:
        make_searcher(name, SPACE, 1, 4, 1)
    message = str(info.value)
    assert repr(name) in message
    assert all(allowed in message for allowed in SEARCHERS)


def test_settings_are_still_checked_by_the_searcher() -> None:
    with pytest.raises(ValueError, match="gamma"):
        make_searcher("fade", SPACE, 1, 4, 1, gamma=0.0)
    with pytest.raises(ValueError, match="estimator"):
        make_searcher("fade", SPACE, 1, 4, 1, estimator="descent")
    with pytest.raises(ValueError, match="window"):
        make_searcher("random", SPACE, 1, 0, 1)


def test_old_import_paths_name_the_one_definition() -> None:
    from searchers import base, records

    for name in ("PathRecord", "Proposal", "check_float", "check_int", "to_json"):
        assert getattr(base, name) is getattr(records, name)


# ---------------------------------------------------------------- best(n)


@pytest.mark.parametrize("name", SEARCHERS)
def test_best_is_a_list_best_first_at_most_n(name: str) -> None:
    searcher = make_searcher(name, SPACE, 2, 4, 4, seed=1)
    assert searcher.best() == [] and searcher.best(3) == [] and searcher.final_path() is None
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="n must be"):
            searcher.best(bad)  # type: ignore[arg-type]
    drive(searcher)
    everything = searcher.best(1000)
    assert everything and all(isinstance(p, PathRecord) for p in everything)
    # evolution ranks paths by their own accuracy, the others iterations by the metric
    keys = [p.score for p in everything] if name == "evolution" else [p.metric for p in everything]
    assert keys == sorted(keys, reverse=True)  # type: ignore[type-var]
    for n in (1, 2, len(everything)):
        assert searcher.best(n) == everything[:n]
    assert searcher.best() == everything[:1] and searcher.final_path() == everything[0]


def record(iteration: int, metric: float | None, status: str = "ok") -> dict[str, Any]:
    return {
        "iteration": iteration,
        "status": status,
        "metric": metric,
        "best_path": [iteration],
        "best_cells": [{"n": 1, "edges": []}],
        "log_rank": None if iteration == 0 else -float(iteration),
    }


def test_paths_from_history_ranks_by_metric_then_unscored_latest_first() -> None:
    history = [record(0, 0.5), record(1, None), record(2, 0.9), record(3, 0.5), record(4, None)]
    history.append(record(5, 0.1, "failed"))
    assert [p.iteration for p in paths_from_history(history, "max", 10)] == [2, 0, 3, 4, 1]
    assert [p.iteration for p in paths_from_history(history, "min", 10)] == [0, 3, 2, 4, 1]
    assert [p.iteration for p in paths_from_history(history, "max", 2)] == [2, 0]
    first = paths_from_history(history, "max", 10)[1]
    assert first.score == -math.inf and first.cells == ({"n": 1, "edges": []},) and first.indices == (0,)
    unscored = [record(0, None), record(1, None)]
    assert [p.iteration for p in paths_from_history(unscored, "max", 1)] == [1]  # the latest success
    assert paths_from_history([record(0, 0.3, "failed")], "max", 3) == []


def test_log_rank_agreement_between_repeats() -> None:
    import numpy as np

    from searchers.records import log_rank_agreement

    rng = np.random.default_rng(0)
    alpha = rng.dirichlet(np.ones(4), size=3)  # depth 3, window 4
    assert log_rank_agreement([alpha]) is None
    assert log_rank_agreement([alpha, alpha]) == pytest.approx(1.0)
    assert log_rank_agreement([alpha, alpha[:, ::-1]]) < 0.9  # other candidates preferred: less agreement
    big = [rng.dirichlet(np.ones(5), size=12) for _ in range(2)]  # 5^12 paths: a fixed sample is ranked
    value = log_rank_agreement(big, max_paths=2_000)
    assert value is not None and -1.0 <= value <= 1.0 and value == log_rank_agreement(big, max_paths=2_000)
