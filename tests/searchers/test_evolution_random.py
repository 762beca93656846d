"""DARTS-PD evolution and random searchers without Ray."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from searcher_stub import cell_score, drive, stub_metrics

from searchers.evolution import EvolutionSearcher, next_row
from searchers.random import RandomSearcher
from spaces.dag import DagSpace


@pytest.fixture(scope="module")
def space() -> DagSpace:
    return DagSpace(6)


def test_next_row_keeps_parents_and_fills_with_distinct_children(space: DagSpace) -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        parents = [space.sample(rng) for _ in range(2)]
        sources = [parents[1], space.sample(rng)]
        row = next_row(space, parents, sources, window=7, mutation_fraction=0.5, rng=rng)
        assert row[: len(set(parents))] == list(dict.fromkeys(parents))
        assert len(row) == 7 and len(set(row)) == 7
        assert all(space.cells[space.index_of(c)] == c for c in row)
    only = next_row(space, [space.cells[-1]], [], window=4, mutation_fraction=0.0, rng=rng)
    assert len(set(only)) == 4 and only[0] == space.cells[-1]
    tiny = DagSpace(2)  # three cells: children repeat, random fill must still finish
    assert sorted(map(tiny.index_of, next_row(tiny, tiny.cells[:1], [], 3, 1.0, rng))) == [0, 1, 2]


def test_mutation_children_come_from_the_best_paths(space: DagSpace) -> None:
    rng = np.random.default_rng(1)
    parents = [space.cells[10], space.cells[20]]
    best = space.cells[-1]
    row = next_row(space, parents, [best], window=3, mutation_fraction=1.0, rng=rng)
    assert row[2] in space.neighbours(best)


def test_constructor_validation(space: DagSpace) -> None:
    for change, name in [
        ({"prune_k": 0}, "prune_k"),
        ({"prune_k": 4}, "prune_k"),
        ({"eval_paths": 0}, "eval_paths"),
        ({"fair_epochs": -1}, "fair_epochs"),
        ({"mutation_fraction": 1.5}, "mutation_fraction"),
        ({"archive_size": 0}, "archive_size"),
        ({"window": 1}, "window"),
    ]:
        kwargs: dict[str, Any] = {"depth": 2, "window": 4, "iterations": 1, **change}
        with pytest.raises(ValueError, match=name):
            EvolutionSearcher(space, **kwargs)


def test_evolution_configs_results_and_archive(space: DagSpace) -> None:
    searcher = EvolutionSearcher(
        space, depth=2, window=5, iterations=4, prune_k=2, fair_epochs=3, eval_paths=4
    )
    configs = drive(searcher)
    assert len(configs) == 4
    for config in configs:
        assert config["train"] == {"prune_k": 2, "fair_epochs": 3, "eval_paths": 4}
        assert set(config) == {"cells", "seed", "train"}
        for row in config["cells"]:
            assert len({space.index_of(space.decode(obj)) for obj in row}) == 5
    for record, following in zip(searcher.history, searcher.history[1:], strict=False):
        assert record["status"] == "ok" and len(record["paths"]) == 4
        accs = [p["val_acc"] for p in record["paths"]]
        assert accs == sorted(accs, reverse=True)
        for row, kept in enumerate(record["kept"]):
            parents = [record["cells"][row][j] for j in kept]
            assert following["cells"][row][: len(parents)] == parents  # the kept cells survive
    best = searcher.best(3)
    assert len(best) == 3 and [b.score for b in best] == sorted((b.score for b in best), reverse=True)
    top = best[0]
    assert top.score == pytest.approx(sum(cell_score(c) for c in top.cells) / 20.0, abs=1e-2)
    assert all(searcher.best(1)[0] == top for _ in range(2))
    with pytest.raises(ValueError, match="n must be"):
        searcher.best(0)
    # the search's final choice is the archive's best path, not an iteration's log-rank winner
    assert searcher.final_path() == top
    best_of_iterations = max(r["best_val_acc"] for r in searcher.history)
    assert top.score == pytest.approx(best_of_iterations)


def test_evolution_improves_the_stub_score(space: DagSpace) -> None:
    searcher = EvolutionSearcher(space, depth=2, window=4, iterations=6, prune_k=2, eval_paths=4, seed=4)
    drive(searcher)
    first, last = searcher.history[0]["best_val_acc"], searcher.history[-1]["best_val_acc"]
    assert last >= first


def test_evolution_falls_back_to_alpha_when_kept_is_missing(space: DagSpace) -> None:
    searcher = EvolutionSearcher(space, depth=1, window=3, iterations=1, prune_k=1)
    config = searcher.suggest("a")
    assert isinstance(config, dict)
    result = stub_metrics(config)
    del result["kept"], result["path_indices"], result["path_val_acc"]
    searcher.on_trial_complete(trial_id="a", result=result, error=False)
    record = searcher.history[0]
    assert record["kept"] == [[int(np.argmax(result["alpha"][0]))]] and record["paths"] == []
    assert searcher.best() == [] and searcher.final_path() is None


def test_evolution_population_stays_when_all_repeats_fail(space: DagSpace) -> None:
    searcher = EvolutionSearcher(space, depth=2, window=3, iterations=2, prune_k=1, repeats=2)
    a, b = searcher.suggest("a"), searcher.suggest("b")
    assert isinstance(a, dict) and isinstance(b, dict)
    searcher.on_trial_complete(trial_id="a", result=None, error=True)
    searcher.on_trial_complete(trial_id="b", result=None, error=True)
    assert searcher.history[0]["status"] == "failed"
    c = searcher.suggest("c")
    assert isinstance(c, dict) and c["cells"] == a["cells"] and c["seed"] != a["seed"]


def test_random_searcher_budget_keys_and_best(space: DagSpace) -> None:
    train = {"prune_k": 2, "fair_epochs": 1, "eval_paths": 4}
    searcher = RandomSearcher(space, depth=3, window=4, iterations=3, repeats=2, train=train, seed=9)
    configs = drive(searcher)
    assert len(configs) == 6 and all(set(c) == {"cells", "seed", "train"} for c in configs)
    assert all(c["train"] == train for c in configs)
    for record in searcher.history:
        metrics = stub_metrics(configs[2 * record["iteration"]])
        assert record["best_path"] == metrics["top_paths"][0]
        assert record["log_rank"] == pytest.approx(metrics["top_log_ranks"][0])
    ranked = searcher.best(3)
    assert [b.metric for b in ranked] == sorted((r["metric"] for r in searcher.history), reverse=True)
    best = ranked[0]
    assert best.iteration == int(np.argmax([r["metric"] for r in searcher.history]))
    assert searcher.best() == [best] and searcher.best(10) == ranked
    assert searcher.final_path() == best
    plain = RandomSearcher(space, depth=1, window=2, iterations=1)
    first = plain.suggest("a")
    assert isinstance(first, dict) and set(first) == {"cells", "seed"}


def test_random_best_path_falls_back_to_alpha_when_repeats_disagree(space: DagSpace) -> None:
    searcher = RandomSearcher(space, depth=1, window=3, iterations=1, repeats=2)
    a, b = searcher.suggest("a"), searcher.suggest("b")
    assert isinstance(a, dict) and isinstance(b, dict)
    searcher.on_trial_complete(trial_id="a", result={"alpha": [[0.5, 0.4, 0.1]], "top_paths": [[0]]})
    searcher.on_trial_complete(trial_id="b", result={"alpha": [[0.1, 0.6, 0.3]], "top_paths": [[1]]})
    assert searcher.history[0]["best_path"] == [1]  # argmax of the mean [0.3, 0.5, 0.2]
    assert searcher.history[0]["metric"] is None
    [best] = searcher.best()
    assert best.indices == (1,) and best.metric is None


def test_random_same_seed_same_suggestions(space: DagSpace) -> None:
    def configs(seed: int) -> list[dict[str, Any]]:
        return drive(RandomSearcher(space, depth=2, window=3, iterations=2, seed=seed))

    assert configs(1) == configs(1) and configs(1) != configs(2)
