"""A restored searcher settled against Tune's restored trial table (``searchers.reconcile``): the table and
the searcher state can come from different moments when a driver was killed during Tune's upload."""

from __future__ import annotations

from typing import Any

from searcher_stub import stub_metrics

from searchers.fade import FaDESearcher
from searchers.reconcile import KnownTrial
from spaces.dag import DagSpace

SPACE = DagSpace(5)


def searcher() -> FaDESearcher:
    fade = FaDESearcher(SPACE, depth=2, window=4, iterations=3, repeats=1, seed=5)
    fade.set_max_concurrency(1)
    return fade


def finish(trial_id: str, config: dict[str, Any]) -> KnownTrial:
    return KnownTrial(trial_id, "TERMINATED", stub_metrics(config), config)


def test_a_live_trial_the_table_lacks_is_handed_out_again() -> None:
    """Searcher newer than the table: it handed out trial b, which Tune's table never got (this hung)."""
    fade = searcher()
    a = fade.suggest("a")
    fade.on_trial_result("a", stub_metrics(a))
    b = fade.suggest("b")
    assert fade.suggest("x") is None  # b is live: nothing else goes out
    done = fade.reconcile([finish("a", a)])
    assert done["reissued"] == 1
    assert fade.suggest("b2") == b  # the same config again, under a new trial id
    fade.on_trial_result("b2", stub_metrics(b))
    assert [r["trial_ids"] for r in fade.history] == [[["a"]], [["b2"]]]


def test_a_live_trial_the_table_holds_as_finished_gives_its_final_result() -> None:
    """Searcher older than the table: Tune finished trial a and will not run it again (this hung too)."""
    fade = searcher()
    a = fade.suggest("a")
    done = fade.reconcile([finish("a", a)])
    assert done["completed"] == 1 and len(fade.history) == 1 and fade.history[0]["status"] == "ok"


def test_a_trial_the_searcher_never_issued_is_adopted_by_its_slot() -> None:
    """Searcher older than the table: the table holds the next iteration's trial b, unknown to the searcher;
    b fills its slot instead of the same config being trained again."""
    reference = searcher()
    a = reference.suggest("a")
    reference.on_trial_result("a", stub_metrics(a))
    b = reference.suggest("b")

    fade = searcher()
    assert fade.suggest("a") == a
    done = fade.reconcile([finish("a", a), KnownTrial("b", "RUNNING", None, {**b, "data": {"x": 1}})])
    assert done == {"completed": 1, "failed": 0, "adopted": 1, "reissued": 0}
    assert fade.suggest("x") is None  # b is live in its slot
    fade.on_trial_result("b", stub_metrics(b))
    assert [r["trial_ids"] for r in fade.history] == [[["a"]], [["b"]]]


def test_an_errored_trial_fails_its_slot_and_a_fresh_run_is_left_alone() -> None:
    fade = searcher()
    assert fade.reconcile([]) == {"completed": 0, "failed": 0, "adopted": 0, "reissued": 0}
    a = fade.suggest("a")
    assert fade.reconcile([KnownTrial("a", "ERROR", None, a)])["failed"] == 1
    assert fade.history[0]["status"] == "failed"


def test_a_trial_terminated_without_its_final_result_is_handed_out_again() -> None:
    fade = searcher()
    a = fade.suggest("a")
    done = fade.reconcile([KnownTrial("a", "TERMINATED", {"epoch": 1, "final": False}, a)])
    assert done["reissued"] == 1 and not fade.history
    assert fade.suggest("a2") == a
