"""Which reported matrix ranks the cells: ``alpha`` (default), ``pathwise_alpha`` or a perturbation matrix
(``set_rank_source``)."""

from __future__ import annotations

import pytest
from searcher_stub import stub_metrics

from searchers.fade import FaDESearcher
from spaces.dag import DagSpace

SPACE = DagSpace(5)


def fade() -> FaDESearcher:
    return FaDESearcher(SPACE, depth=2, window=4, iterations=2, repeats=1, seed=3)


@pytest.mark.parametrize("source,key,matrix,best", [
    ("pathwise", "pathwise_alpha", [[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]], [3, 0]),
    ("perturbation", "perturbation_alpha", [[0.1, 0.6, 0.2, 0.1], [0.1, 0.1, 0.1, 0.7]], [1, 3]),
    ("perturbation_loss", "perturbation_loss_alpha", [[0.5, 0.2, 0.2, 0.1], [0.1, 0.6, 0.2, 0.1]], [0, 1]),
])
def test_a_rank_source_reads_its_own_matrix(source: str, key: str, matrix: list[list[float]],
                                            best: list[int]) -> None:
    searcher = fade()
    searcher.set_rank_source(source)
    config = searcher.suggest("a")
    searcher.on_trial_result("a", stub_metrics(config) | {key: matrix})
    record = searcher.history[0]
    assert record["status"] == "ok" and record["alpha"] == matrix and record["best_path"] == best


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
