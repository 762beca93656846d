"""FaDE searcher logic without Ray: directions, the pseudo-gradient step, batches, failures."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest
from ray.tune.search import Searcher
from searcher_stub import drive, stub_metrics

from searchers.fade import Direction, FaDESearcher, PseudoGradientStep, choose_directions, row_candidates
from spaces.dag import DagSpace

BOUNDS = (np.zeros(3), np.ones(3))


@pytest.fixture(scope="module")
def space() -> DagSpace:
    return DagSpace(6)


# ---------------------------------------------------------------- pure units


def test_step_moves_the_anchor_toward_the_winning_plus_side() -> None:
    step = PseudoGradientStep(gamma=0.1, step=0.5)
    anchor = np.array([0.5, 0.5, 0.5])
    directions = [Direction(0), Direction(1), Direction(2)]
    moved = step.apply(
        anchor, directions, beta_plus=[0.6, 0.2, 0.3], beta_minus=[0.1, 0.2, 0.5], bounds=BOUNDS
    )
    assert moved[0] > anchor[0]  # + side won on axis 0
    assert moved[1] == anchor[1]  # a tie does not move
    assert moved[2] < anchor[2]  # - side won on axis 2
    np.testing.assert_allclose(moved - anchor, 0.5 * np.array([0.5, 0.0, -0.2]))


def test_step_is_clipped_to_the_bounds() -> None:
    step = PseudoGradientStep(gamma=0.1, step=10.0)
    moved = step.apply([0.95, 0.05, 0.5], [Direction(0), Direction(1)], [1.0, 0.0], [0.0, 1.0], BOUNDS)
    np.testing.assert_array_equal(moved, [1.0, 0.0, 0.5])


def test_gradient_averages_pairs_per_axis_and_scales_multiples() -> None:
    step = PseudoGradientStep(gamma=0.1, step=1.0)
    directions = [Direction(0, 1), Direction(0, 2), Direction(1, 1)]
    gradient = step.gradient(3, directions, [0.5, 0.6, 0.3], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(gradient, [(0.4 + 0.4 / 2) / 2, 0.0, 0.0])
    with pytest.raises(ValueError, match="one beta pair per direction"):
        step.gradient(3, directions, [0.5], [0.1])


def test_probe_points_order() -> None:
    points = PseudoGradientStep(gamma=0.2).probe_points([0.5, 0.5], [Direction(1, 2)], include_anchor=True)
    np.testing.assert_allclose(points, [[0.5, 0.5], [0.5, 0.9], [0.5, 0.1]])


@pytest.mark.parametrize(("gamma", "step"), [(0.0, 1.0), (1.5, 1.0), (-0.1, 1.0), (0.1, 0.0), (0.1, -1.0)])
def test_step_parameters_are_validated(gamma: float, step: float) -> None:
    with pytest.raises(ValueError, match="gamma|step"):
        PseudoGradientStep(gamma=gamma, step=step)


def test_choose_directions_cases() -> None:
    rng = np.random.default_rng(0)
    assert choose_directions(3, 3, rng) == (Direction(0), Direction(1), Direction(2))
    assert choose_directions(2, 5, rng) == tuple(
        Direction(a, m) for a, m in [(0, 1), (1, 1), (0, 2), (1, 2), (0, 3)]
    )
    draws = [choose_directions(3, 2, rng) for _ in range(30)]
    for draw in draws:
        axes = [d.axis for d in draw]
        assert len(set(axes)) == 2 and axes == sorted(axes) and all(d.multiple == 1 for d in draw)
    assert {d.axis for draw in draws for d in draw} == {0, 1, 2}
    again = np.random.default_rng(0)
    choose_directions(3, 3, again), choose_directions(2, 5, again)
    assert [choose_directions(3, 2, again) for _ in range(30)] == draws


def test_row_candidates_are_distinct_even_for_one_point(space: DagSpace) -> None:
    row = row_candidates(space, [np.full(3, 0.5)] * 5)
    assert len(set(row)) == 5


# ---------------------------------------------------------------- the searcher


def test_constructor_validation(space: DagSpace) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"depth": 0}, "depth"),
        ({"window": 1}, "window"),
        ({"iterations": 0}, "iterations"),
        ({"repeats": 0}, "repeats"),
        ({"gamma": 0.0}, "gamma"),
        ({"gamma": 1.01}, "gamma"),
        ({"step": 0.0}, "step"),
        ({"mode": "maximise"}, "mode"),
        ({"depth": 1.5}, "depth"),
    ]
    for change, name in cases:
        kwargs: dict[str, Any] = {"depth": 2, "window": 4, "iterations": 1, **change}
        with pytest.raises(ValueError, match=name):
            FaDESearcher(space, **kwargs)
    with pytest.raises(ValueError, match="exceeds"):
        FaDESearcher(DagSpace(2), depth=1, window=4, iterations=1)


def test_batch_protocol(space: DagSpace) -> None:
    searcher = FaDESearcher(space, depth=2, window=5, iterations=2, repeats=3, seed=1)
    configs = [searcher.suggest(f"a{i}") for i in range(3)]
    assert searcher.suggest("a3") is None  # batch out: wait
    assert all(isinstance(c, dict) and set(c) == {"cells", "seed"} for c in configs)
    assert len({c["seed"] for c in configs if isinstance(c, dict)}) == 3
    first = configs[0]
    assert isinstance(first, dict)
    assert all(c["cells"] == first["cells"] for c in configs if isinstance(c, dict))
    assert len(first["cells"]) == 2 and all(len(row) == 5 for row in first["cells"])
    for row, anchor in zip(first["cells"], searcher.anchors, strict=True):
        cells = [space.decode(obj) for obj in row]
        assert len(set(cells)) == 5
        assert cells[0] == space.nearest(anchor)  # odd window: the anchor's own cell first
    for i, config in enumerate(configs[:2]):
        assert isinstance(config, dict)
        searcher.on_trial_complete(trial_id=f"a{i}", result=stub_metrics(config), error=False)
        assert searcher.suggest(f"wait{i}") is None and searcher.iteration == 0
    assert isinstance(configs[2], dict)
    searcher.on_trial_complete(trial_id="a2", result=stub_metrics(configs[2]), error=False)
    assert searcher.iteration == 1 and len(searcher.history) == 1
    drive(searcher, prefix="b")
    assert searcher.finished and searcher.suggest("end") == Searcher.FINISHED
    assert [r["iteration"] for r in searcher.history] == [0, 1]


def test_anchors_move_toward_the_winning_cells(space: DagSpace) -> None:
    """The stub makes cells with more vertices win: the num_vertices coordinate must go up."""
    searcher = FaDESearcher(space, depth=3, window=6, iterations=4, gamma=0.2, step=2.0, seed=3)
    drive(searcher)
    start = np.array(searcher.history[0]["anchors_before"])
    end = np.array(searcher.history[-1]["anchors_after"])
    axis = space.feature_names.index("num_vertices")
    assert np.all(end[:, axis] >= start[:, axis])
    assert np.all((end[:, axis] > start[:, axis]) | (start[:, axis] == 1.0))
    for record in searcher.history:
        assert record["status"] == "ok" and record["repeats_ok"] == 1
        alpha = np.array(record["alpha"])
        assert alpha.shape == (3, 6)
        assert record["best_path"] == [int(j) for j in alpha.argmax(axis=1)]
        assert record["log_rank"] == pytest.approx(float(np.log(alpha.max(axis=1)).sum()))
        assert np.all(np.array(record["anchors_after"]) >= 0) and np.all(
            np.array(record["anchors_after"]) <= 1
        )
    [best] = searcher.best()
    metrics = [r["metric"] for r in searcher.history]
    assert best.iteration == int(np.argmax(metrics))
    assert list(best.cells) == searcher.history[best.iteration]["best_cells"]


def test_step_uses_alpha_averaged_over_repeats(space: DagSpace) -> None:
    searcher = FaDESearcher(space, depth=1, window=2, iterations=1, repeats=2, step=1.0, seed=0)
    a, b = searcher.suggest("a"), searcher.suggest("b")
    assert isinstance(a, dict) and isinstance(b, dict)
    before = searcher.anchors
    assert before is not None
    searcher.on_trial_complete(trial_id="a", result={"alpha": [[0.9, 0.1]], "val_acc": 0.5})
    searcher.on_trial_complete(trial_id="b", result={"alpha": [[0.3, 0.7]], "val_acc": 0.7})
    record = searcher.history[0]
    np.testing.assert_allclose(record["alpha"], [[0.6, 0.4]])
    assert record["metric"] == pytest.approx(0.6)
    axis = record["directions"][0][0][0]
    moved = np.array(record["anchors_after"][0]) - before[0]
    expected = np.zeros(space.dim)
    expected[axis] = 0.2
    np.testing.assert_allclose(moved, np.clip(before[0] + expected, 0, 1) - before[0], atol=1e-12)


def test_failed_repeats(space: DagSpace, caplog: pytest.LogCaptureFixture) -> None:
    searcher = FaDESearcher(space, depth=2, window=4, iterations=3, repeats=2, seed=0)
    a, b = searcher.suggest("a"), searcher.suggest("b")
    assert isinstance(a, dict) and isinstance(b, dict)
    before = searcher.anchors
    with caplog.at_level(logging.WARNING, logger="searchers"):
        searcher.on_trial_complete(trial_id="a", result=None, error=True)
        searcher.on_trial_complete(trial_id="b", result={"val_acc": 0.5, "alpha": [[1.0]]})  # bad alpha
    record = searcher.history[0]
    assert record["status"] == "failed" and record["repeats_ok"] == 0 and record["alpha"] is None
    np.testing.assert_array_equal(searcher.anchors, before)
    assert record["anchors_after"] == record["anchors_before"]
    assert "failed" in caplog.text
    c, d = searcher.suggest("c"), searcher.suggest("d")  # the search goes on
    assert isinstance(c, dict) and isinstance(d, dict)
    searcher.on_trial_complete(trial_id="c", result=None, error=True)
    searcher.on_trial_complete(trial_id="d", result=stub_metrics(d), error=False)
    assert searcher.history[1]["status"] == "ok" and searcher.history[1]["repeats_ok"] == 1
    np.testing.assert_allclose(searcher.history[1]["alpha"], stub_metrics(d)["alpha"])


def test_duplicate_and_unknown_trials_only_warn(space: DagSpace, caplog: pytest.LogCaptureFixture) -> None:
    searcher = FaDESearcher(space, depth=1, window=2, iterations=2, repeats=2, seed=0)
    a = searcher.suggest("a")
    assert isinstance(a, dict)
    with caplog.at_level(logging.WARNING, logger="searchers"):
        searcher.on_trial_complete(trial_id="a", result=stub_metrics(a), error=False)
        searcher.on_trial_complete(trial_id="a", result=stub_metrics(a), error=False)
        searcher.on_trial_complete(trial_id="ghost", result=stub_metrics(a), error=False)
    assert "duplicate" in caplog.text and "unknown" in caplog.text
    assert searcher.iteration == 0


def test_same_seed_same_suggestions(space: DagSpace) -> None:
    def configs(seed: int) -> list[dict[str, Any]]:
        return drive(FaDESearcher(space, depth=2, window=4, iterations=3, repeats=2, seed=seed))

    assert configs(5) == configs(5)
    assert configs(5) != configs(6)


def test_directions_are_redrawn_when_fewer_pairs_than_dimensions(space: DagSpace) -> None:
    searcher = FaDESearcher(space, depth=2, window=3, iterations=6, seed=2)
    drive(searcher)
    axes = {pair[0] for record in searcher.history for row in record["directions"] for pair in row}
    assert axes == {0, 1, 2}
    assert all(len(row) == 1 for record in searcher.history for row in record["directions"])
