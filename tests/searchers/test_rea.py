"""REA's own logic without Ray Tune running: the random population, tournaments, mutation, ageing, state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ray.tune.search.searcher import Searcher

from searchers import DISCRETE_SEARCHERS, SEARCHERS, make_discrete_searcher
from searchers.rea import REASearcher
from spaces.dag import DagSpace
from spaces.nb201 import Nb201Space


def fitness(cell: str) -> float:
    """A made-up fitness of an NB201 architecture string: 3x3 convolutions are good."""
    return 0.5 + 0.05 * cell.count("nor_conv_3x3") + 0.01 * cell.count("skip")


def evaluate(searcher: REASearcher, trials: int, start: int = 0) -> list[dict[str, Any]]:
    """Suggest and complete ``trials`` trials one at a time (sequential REA); returns their configs."""
    configs = []
    for i in range(start, start + trials):
        config = searcher.suggest(f"t{i}")
        assert isinstance(config, dict)
        configs.append(config)
        searcher.on_trial_complete(f"t{i}", {"val_acc": fitness(config["arch"])})
    return configs


def differs_in_one_edge(a: str, b: str) -> bool:
    space = Nb201Space()
    return sum(x != y for x, y in zip(space.decode(a).ops, space.decode(b).ops, strict=True)) == 1


def test_random_population_first_then_wait_for_it() -> None:
    searcher = REASearcher(Nb201Space(), evaluations=30, population_size=4, sample_size=2, seed=0)
    configs = [searcher.suggest(f"t{i}") for i in range(4)]
    assert all(isinstance(c, dict) and set(c) == {"arch"} for c in configs)
    assert searcher.suggest("t4") is None  # the population is still out
    for i, config in enumerate(configs[:3]):
        assert isinstance(config, dict)
        searcher.on_trial_complete(f"t{i}", {"val_acc": fitness(config["arch"])})
    assert searcher.suggest("t4") is None
    assert isinstance(configs[3], dict)
    searcher.on_trial_complete("t3", {"val_acc": fitness(configs[3]["arch"])})
    child = searcher.suggest("t4")
    assert isinstance(child, dict)
    parent = searcher._live["t4"]["parent"]
    parent_cell = next(h["cell"] for h in searcher.history if h["index"] == parent)
    assert differs_in_one_edge(child["arch"], parent_cell)  # NB201's mutation: one edge, another op


def test_children_are_mutations_of_tournament_winners_and_the_oldest_dies() -> None:
    space = Nb201Space()
    searcher = REASearcher(space, evaluations=60, population_size=5, sample_size=3, seed=1)
    evaluate(searcher, 5)
    assert [m["index"] for m in searcher.population] == [0, 1, 2, 3, 4]
    fittest = max(searcher.population, key=lambda m: m["metric"])
    for i in range(5, 60):
        before = searcher.population
        config = searcher.suggest(f"t{i}")
        assert isinstance(config, dict)
        space.decode(config["arch"])  # inside the space
        parent = searcher._live[f"t{i}"]["parent"]
        assert parent in [m["index"] for m in before]
        assert differs_in_one_edge(config["arch"], next(m["cell"] for m in before if m["index"] == parent))
        searcher.on_trial_complete(f"t{i}", {"val_acc": fitness(config["arch"])})
        after = searcher.population
        assert len(after) == 5 and after[0]["index"] == before[1]["index"] and after[-1]["index"] == i
    # ageing, not the worst out: the fittest of the first population is gone however fit it was
    assert fittest["index"] not in [m["index"] for m in searcher.population]
    assert searcher.suggest("t60") == Searcher.FINISHED and searcher.finished
    assert len(searcher.history) == 60
    best = searcher.best(3)
    assert [b.metric for b in best] == sorted((h["metric"] for h in searcher.history), reverse=True)[:3]


def test_the_tournament_takes_the_fittest_of_its_sample() -> None:
    searcher = REASearcher(DagSpace(4), evaluations=100, population_size=6, sample_size=500, seed=2)
    for i in range(6):
        config = searcher.suggest(f"t{i}")
        searcher.on_trial_complete(f"t{i}", {"val_acc": [0.3, 0.9, 0.1, 0.5, 0.9, 0.2][i]})
        assert isinstance(config, dict)
    # 500 draws with replacement from 6 members: every member is drawn; ties go to the older
    assert searcher._tournament()["index"] == 1
    searcher.on_trial_complete("x", {"val_acc": 1.0})  # unknown trial: ignored
    searcher.set_search_properties(None, "min", {})
    assert searcher._tournament()["index"] == 2


def test_failed_trials_use_budget_but_add_no_member() -> None:
    searcher = REASearcher(DagSpace(4), evaluations=8, population_size=2, sample_size=2, seed=3)
    a, b = searcher.suggest("a"), searcher.suggest("b")
    assert isinstance(a, dict) and isinstance(b, dict)
    searcher.on_trial_complete("a", error=True)
    searcher.on_trial_complete("b", {"val_acc": float("nan")})
    assert searcher.population == [] and len(searcher.history) == 2
    again = searcher.suggest("c")  # every member failed: random samples go on
    assert isinstance(again, dict) and searcher._live["c"]["parent"] is None
    searcher.on_trial_result("c", {"val_acc": 0.5, "final": True})  # a final result completes it
    assert [m["index"] for m in searcher.population] == [2]
    searcher.on_trial_complete("c", {"val_acc": 0.5})  # Tune's completion afterwards: already taken
    assert len(searcher.history) == 3


def test_state_round_trip_save_restore_and_reissue(tmp_path: Path) -> None:
    space = Nb201Space()
    first = REASearcher(space, evaluations=40, seed=4)
    evaluate(first, 15)
    live = first.suggest("live")
    path = tmp_path / "rea.json"
    first.save(str(path))
    second = REASearcher(space, evaluations=40, seed=4)
    second.restore(str(path))
    assert second.get_state() == first.get_state()
    assert [second.suggest(f"n{i}") for i in range(5)] == [first.suggest(f"n{i}") for i in range(5)]
    assert second.reissue_live_trials() == 6 and second.suggest("again") == live
    with pytest.raises(ValueError, match="settings differ"):
        REASearcher(space, evaluations=41, seed=4).set_state(first.get_state())
    with pytest.raises(ValueError, match="missing the key"):
        REASearcher(space, evaluations=40, seed=4).set_state({"format": "hiernas.rea_searcher/1"})


def test_registry_and_argument_checks() -> None:
    assert "rea" in DISCRETE_SEARCHERS and "rea" not in SEARCHERS
    searcher = make_discrete_searcher("rea", DagSpace(4), 10, seed=1, config_key="path")
    assert isinstance(searcher, REASearcher) and set(searcher.suggest("t") or {}) == {"path"}
    with pytest.raises(ValueError, match="unknown discrete searcher"):
        make_discrete_searcher("tpe", DagSpace(4), 10)
    with pytest.raises(ValueError, match="population_size"):
        REASearcher(DagSpace(4), 10, population_size=0)
    with pytest.raises(ValueError, match="mode"):
        REASearcher(DagSpace(4), 10, mode="best")
