"""The final race (issue 10, item 7): the winner rule on recorded curves with a planted best path, and one
real race of stand-alone trainings under Tune's ASHAScheduler."""

from __future__ import annotations

import numpy as np
import pytest

from hiernas.config import DataConfig
from hiernas.fade.config import ModelConfig, TrainConfig, TrialConfig
from hiernas.tune.race import RaceSchedule, distinct_paths, race_record, race_winner, run_race
from searchers import PathRecord
from spaces.dag import DagSpace


def path(k: int, cells: tuple[object, ...] = ("c",)) -> PathRecord:
    return PathRecord(iteration=k, indices=(k,), cells=cells + (k,), score=-float(k), metric=None)


def test_the_planted_best_path_wins() -> None:
    # path 2 is best at the last epoch; path 1 led at the first rung but was stopped there; path 0 trails
    curves = [[(1, 0.50), (2, 0.60), (4, 0.70)], [(1, 0.90)], [(1, 0.55), (2, 0.65), (4, 0.80)]]
    assert race_winner(curves) == 2


def test_ties_go_to_the_better_ranked_path_and_a_path_that_got_further_beats_a_better_early_one() -> None:
    assert race_winner([[(1, 0.5), (2, 0.7)], [(1, 0.6), (2, 0.7)]]) == 0
    assert race_winner([[(1, 0.99)], [], [(1, 0.1), (2, 0.2)]]) == 2
    with pytest.raises(ValueError, match="no path"):
        race_winner([[], []])


def test_schedule_rungs_and_record() -> None:
    assert RaceSchedule.for_epochs(6).rungs() == [2, 4, 6]
    assert RaceSchedule.for_epochs(1).rungs() == [1] and RaceSchedule.for_epochs(4).rungs() == [1, 2, 4]
    paths = [path(0), path(1)]
    record = race_record(paths, [[(1, 0.3), (2, 0.4)], [(1, 0.2)]], RaceSchedule.for_epochs(2))
    assert record["winner"] == 0 and record["scheduler"]["max_t"] == 2
    assert [p["rungs"] for p in record["paths"]] == [{"1": 0.3, "2": 0.4}, {"1": 0.2}]
    assert [p["epochs"] for p in record["paths"]] == [2, 1]


def test_distinct_paths_keep_the_first_of_equal_cells() -> None:
    same = [path(0), PathRecord(5, (0,), ("c", 0), 0.0, None), path(1)]
    assert [p.iteration for p in distinct_paths(same)] == [0, 1]


def test_a_real_race_under_asha(ray_session: None, tmp_path: object) -> None:
    space = DagSpace(4)
    rng = np.random.default_rng(0)
    paths = [PathRecord(k, (0, 0), tuple(space.encode(space.sample(rng)) for _ in range(2)), -float(k), None)
             for k in range(3)]
    base = TrialConfig(
        seed=1, data=DataConfig(dataset="synthetic", batch_size=16, synthetic_size=96),
        model=ModelConfig(depth=2, window=2), train=TrainConfig(epochs=1),
    )
    schedule = RaceSchedule.for_epochs(3)
    record = run_race(base, distinct_paths(paths), schedule, str(tmp_path), max_failures=0)
    entries = record["paths"]
    assert len(entries) == 3 and record["scheduler"]["name"] == "ASHAScheduler"
    assert all(1 <= e["epochs"] <= 3 and set(e["rungs"]) <= {"1", "2", "3"} for e in entries)
    assert entries[0]["epochs"] == 3  # the first path in has no one to lose against at any rung
    finalists = [k for k, e in enumerate(entries) if e["epochs"] == 3]
    best = max(finalists, key=lambda k: (entries[k]["rungs"]["3"], -k))
    assert record["winner"] == best
