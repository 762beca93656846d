"""State round trips of the batch searchers: get_state/set_state, save/restore, resuming live trials."""

from __future__ import annotations

import json
import logging
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from searcher_stub import drive, stub_metrics

from searchers.base import BatchSearcher
from searchers.evolution import EvolutionSearcher
from searchers.fade import FaDESearcher
from searchers.random import RandomSearcher
from spaces.dag import DagSpace

SPACE = DagSpace(5)

FACTORIES: dict[str, Callable[[], BatchSearcher]] = {
    "fade": lambda: FaDESearcher(SPACE, depth=2, window=5, iterations=4, repeats=2, seed=11),
    "fade_paper": lambda: FaDESearcher(
        SPACE, depth=2, window=5, iterations=4, repeats=2, seed=11, estimator="paper"
    ),
    "evolution": lambda: EvolutionSearcher(
        SPACE, depth=2, window=4, iterations=4, prune_k=2, eval_paths=4, repeats=2, seed=11
    ),
    "random": lambda: RandomSearcher(SPACE, depth=2, window=4, iterations=4, repeats=2, seed=11),
}


def advance(searcher: BatchSearcher, iterations: int, prefix: str) -> None:
    """Complete ``iterations`` batches."""
    for it in range(iterations):
        batch = []
        for r in range(searcher.repeats):
            config = searcher.suggest(f"{prefix}{it}-{r}")
            assert isinstance(config, dict)
            batch.append((f"{prefix}{it}-{r}", config))
        for trial_id, config in batch:
            searcher.on_trial_complete(trial_id=trial_id, result=stub_metrics(config), error=False)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_get_set_state_gives_the_same_next_suggestions(name: str) -> None:
    original = FACTORIES[name]()
    advance(original, 2, "x")
    state = original.get_state()
    json.dumps(state)  # JSON-able, no numpy leftovers
    clone = FACTORIES[name]()
    clone.set_state(state)
    assert drive(clone, prefix="c") == drive(original, prefix="c")
    assert clone.history == original.history


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_save_restore_round_trip(name: str, tmp_path: Path) -> None:
    original = FACTORIES[name]()
    advance(original, 1, "x")
    path = tmp_path / "searcher-state.json"
    original.save(str(path))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind
    clone = FACTORIES[name]()
    clone.restore(str(path))
    assert drive(clone) == drive(original)
    assert clone.history == original.history


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_reissued_live_trials_match_an_uninterrupted_run(
    name: str, tmp_path: Path
) -> None:
    uninterrupted = FACTORIES[name]()
    drive(uninterrupted)

    interrupted = FACTORIES[name]()
    advance(interrupted, 1, "x")
    live = interrupted.suggest("live-0")
    done = interrupted.suggest("live-1")
    assert isinstance(live, dict) and isinstance(done, dict)
    interrupted.on_trial_complete(trial_id="live-1", result=stub_metrics(done), error=False)
    path = tmp_path / "state.json"
    interrupted.save(str(path))  # "live-0" dies with the driver and is not resumed

    restored = FACTORIES[name]()
    restored.restore(str(path))
    assert restored.suggest("new-0") is None  # by default it waits for Tune to resume "live-0"
    assert restored.reissue_live_trials() == 1
    again = restored.suggest("new-0")
    assert again == live  # same cells, same seed
    assert restored.suggest("new-1") is None  # the completed repeat is not re-run
    restored.on_trial_complete(trial_id="new-0", result=stub_metrics(again), error=False)
    drive(restored, prefix="rest")
    assert restored.finished
    strip = [{k: v for k, v in r.items() if k != "trial_ids"} for r in restored.history]
    expected = [{k: v for k, v in r.items() if k != "trial_ids"} for r in uninterrupted.history]
    assert strip == expected


def test_old_trial_reported_after_restore_fills_its_slot_once(tmp_path: Path) -> None:
    searcher = FACTORIES["fade"]()
    a, b = searcher.suggest("a"), searcher.suggest("b")
    assert isinstance(a, dict) and isinstance(b, dict)
    state = searcher.get_state()
    restored = FACTORIES["fade"]()
    restored.set_state(state)
    assert restored.suggest("c") is None  # "a" and "b" are live: Tune resumes them under their ids
    restored.reissue_live_trials()
    reissued = restored.suggest("a2")
    assert reissued == a
    restored.on_trial_complete(trial_id="a", result=stub_metrics(a), error=False)  # Tune resumed "a"
    restored.on_trial_complete(trial_id="b", result=stub_metrics(b), error=False)
    assert restored.iteration == 1
    restored.on_trial_complete(trial_id="a2", result=stub_metrics(a), error=False)  # late duplicate
    assert restored.iteration == 1 and len(restored.history) == 1


def test_state_of_another_searcher_or_settings_is_rejected() -> None:
    fade = FACTORIES["fade"]()
    with pytest.raises(ValueError, match="cannot restore"):
        FACTORIES["random"]().set_state(fade.get_state())
    other = FaDESearcher(SPACE, depth=2, window=5, iterations=4, repeats=2, seed=11, gamma=0.3)
    with pytest.raises(ValueError, match="gamma"):
        other.set_state(fade.get_state())
    with pytest.raises(ValueError, match="estimator"):
        FACTORIES["fade_paper"]().set_state(fade.get_state())
    state = fade.get_state()
    del state["history"]
    with pytest.raises(ValueError, match="history"):
        FACTORIES["fade"]().set_state(state)


def test_save_is_atomic_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    searcher = FACTORIES["fade"]()
    path = tmp_path / "state.json"
    searcher.save(str(path))
    before = path.read_text()
    advance(searcher, 1, "x")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        searcher.save(str(path))
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["state.json"]


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_searchers_pickle(name: str) -> None:
    searcher = FACTORIES[name]()
    advance(searcher, 1, "x")
    clone = pickle.loads(pickle.dumps(searcher))
    assert drive(clone) == drive(searcher)


def test_each_finished_iteration_logs_one_progress_line(caplog: pytest.LogCaptureFixture) -> None:
    searcher = FACTORIES["fade"]()
    with caplog.at_level(logging.INFO, logger="searchers.progress"):
        advance(searcher, 2, "p")
    lines = [r.getMessage() for r in caplog.records if r.name == "searchers.progress"]
    assert len(lines) == 2
    assert lines[0].startswith(f"iteration 1/{searcher.iterations}: val_acc ")
    assert "best path [" in lines[1] and "anchors [" in lines[1]
