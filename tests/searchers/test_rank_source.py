"""Which reported matrix ranks the cells: ``alpha`` (default) or ``pathwise_alpha`` (``set_rank_source``)."""

from __future__ import annotations

import pytest
from searcher_stub import stub_metrics

from searchers.fade import FaDESearcher
from spaces.dag import DagSpace

SPACE = DagSpace(5)


def fade() -> FaDESearcher:
    return FaDESearcher(SPACE, depth=2, window=4, iterations=2, repeats=1, seed=3)


def test_pathwise_ranking_reads_the_path_scores_matrix() -> None:
    searcher = fade()
    searcher.set_rank_source("pathwise")
    config = searcher.suggest("a")
    pathwise = [[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]]
    searcher.on_trial_result("a", stub_metrics(config) | {"pathwise_alpha": pathwise})
    record = searcher.history[0]
    assert record["status"] == "ok" and record["alpha"] == pathwise and record["best_path"] == [3, 0]


def test_a_result_without_the_chosen_matrix_fails_its_slot() -> None:
    searcher = fade()
    searcher.set_rank_source("pathwise")
    config = searcher.suggest("a")
    searcher.on_trial_result("a", stub_metrics(config))  # alpha only: no path scores
    assert searcher.history[0]["status"] == "failed"


def test_the_rank_source_is_checked_and_part_of_the_saved_settings() -> None:
    with pytest.raises(ValueError, match="rank must be one of"):
        fade().set_rank_source("loss")
    pathwise = fade()
    pathwise.set_rank_source("pathwise")
    state = pathwise.get_state()
    with pytest.raises(ValueError):
        fade().set_state(state)  # a searcher ranking by alpha refuses a pathwise search's state
    restored = fade()
    restored.set_rank_source("pathwise")
    restored.set_state(state)


def test_perturbation_ranking_reads_the_perturbation_matrix() -> None:
    searcher = fade()
    searcher.set_rank_source("perturbation")
    config = searcher.suggest("a")
    ranked = [[0.1, 0.6, 0.2, 0.1], [0.1, 0.1, 0.1, 0.7]]
    searcher.on_trial_result("a", stub_metrics(config) | {"perturbation_alpha": ranked})
    assert searcher.history[0]["alpha"] == ranked and searcher.history[0]["best_path"] == [1, 3]
