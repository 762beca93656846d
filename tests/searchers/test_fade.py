"""FaDE searcher logic without Ray: directions, the pseudo-gradient step, batches, failures."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest
from ray.tune.search import Searcher
from searcher_stub import drive, stub_metrics

from searchers.fade import (
    ESTIMATORS,
    RIDGE,
    Direction,
    FaDESearcher,
    ProbedRow,
    PseudoGradientStep,
    choose_directions,
    ridge_least_squares,
    row_candidates,
)
from spaces.dag import DagSpace

BOUNDS = (np.zeros(3), np.ones(3))


@pytest.fixture(scope="module")
def space() -> DagSpace:
    return DagSpace(6)


# ---------------------------------------------------------------- pure units


def paper_row(anchor: list[float], directions: list[Direction], plus: list[float], minus: list[float]) -> ProbedRow:
    """A row of pairs only, each cell exactly on its probe point (where the paper assumes it)."""
    step = PseudoGradientStep(gamma=0.1)
    features = step.probe_points(anchor, directions, include_anchor=False)
    beta = [b for pair in zip(plus, minus, strict=True) for b in pair]
    return ProbedRow.from_plan(anchor, features, beta, directions)


def test_paper_step_moves_the_anchor_toward_the_winning_plus_side() -> None:
    step = PseudoGradientStep(gamma=0.1, step=0.5, estimator="paper")
    anchor = [0.5, 0.5, 0.5]
    row = paper_row(anchor, [Direction(0), Direction(1), Direction(2)], [0.6, 0.2, 0.3], [0.1, 0.2, 0.5])
    moved = step.apply(row, BOUNDS)
    assert moved[0] > anchor[0]  # + side won on axis 0
    assert moved[1] == anchor[1]  # a tie does not move
    assert moved[2] < anchor[2]  # - side won on axis 2
    np.testing.assert_allclose(moved - anchor, 0.5 * np.array([0.5, 0.0, -0.2]))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_step_is_clipped_to_the_bounds(estimator: str) -> None:
    step = PseudoGradientStep(gamma=0.1, step=100.0, estimator=estimator)
    row = paper_row([0.95, 0.05, 0.5], [Direction(0), Direction(1)], [1.0, 0.0], [0.0, 1.0])
    np.testing.assert_allclose(step.apply(row, BOUNDS), [1.0, 0.0, 0.5], atol=1e-12)


def test_paper_gradient_averages_pairs_per_axis_and_scales_multiples() -> None:
    step = PseudoGradientStep(gamma=0.1, step=1.0, estimator="paper")
    directions = [Direction(0, 1), Direction(0, 2), Direction(1, 1)]
    row = paper_row([0.5, 0.5, 0.5], directions, [0.5, 0.6, 0.3], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(step.gradient(row), [(0.4 + 0.4 / 2) / 2, 0.0, 0.0])
    short = ProbedRow.from_plan([0.5, 0.5, 0.5], np.zeros((2, 3)), [0.5, 0.1], directions)
    with pytest.raises(ValueError, match="room for 3 pairs"):
        step.gradient(short)


def test_paper_step_is_equation_one_on_the_probe_axis_wherever_the_cells_are() -> None:
    """Equation (1) literally: the pair's difference goes to the probed axis even when the cells moved
    along another one; the real-position estimators follow the cells."""
    anchor = np.array([0.5, 0.5])
    features = np.array([[0.5, 0.7], [0.5, 0.3]])  # probed axis 0, the cells differ along axis 1
    row = ProbedRow.from_plan(anchor, features, [0.6, 0.4], [[0, 1]])
    paper = PseudoGradientStep(gamma=0.1, estimator="paper").gradient(row)
    np.testing.assert_allclose(paper, [0.2, 0.0])
    for estimator in ("least_squares", "pairs"):
        gradient = PseudoGradientStep(gamma=0.1, estimator=estimator).gradient(row)
        assert gradient[0] == pytest.approx(0.0, abs=1e-12) and gradient[1] > 0, estimator


def planted_row(
    space: DagSpace, anchor: np.ndarray, slope: np.ndarray, window: int, rng: np.random.Generator, noise: float
) -> ProbedRow:
    """A row built as the searcher builds it, beta linear in the cells' actual features (plus noise)."""
    directions = choose_directions(space.dim, window // 2, rng)
    points = PseudoGradientStep(gamma=0.1).probe_points(anchor, directions, include_anchor=window % 2 == 1)
    features = np.array([space.features(cell) for cell in row_candidates(space, points)])
    beta = 1.0 / window + (features - anchor) @ slope + noise * rng.standard_normal(window)
    return ProbedRow.from_plan(anchor, features, beta, directions)


@pytest.mark.parametrize("window", [6, 7, 9])
@pytest.mark.parametrize(("estimator", "ridge"), [("least_squares", RIDGE), ("least_squares", 0.0), ("pairs", 0.0)])
def test_real_position_step_points_along_a_planted_linear_beta(
    space: DagSpace, estimator: str, ridge: float, window: int
) -> None:
    """Without noise, beta linear in the features: the step's cosine with the true gradient is > 0.9."""
    rng = np.random.default_rng(window)
    step = PseudoGradientStep(gamma=0.1, estimator=estimator, ridge=ridge)
    cosines: list[float] = []
    for _ in range(30):
        anchor = rng.uniform(0.15, 0.85, size=space.dim)
        slope = rng.standard_normal(space.dim) * 0.3
        gradient = step.gradient(planted_row(space, anchor, slope, window, rng, noise=0.0))
        norm = np.linalg.norm(gradient) * np.linalg.norm(slope)
        cosines.append(0.0 if norm == 0 else float(gradient @ slope / norm))  # no usable pair: no step
    assert np.median(cosines) > 0.9
    if estimator == "least_squares":  # the cells always span some direction of the gradient: never a wrong step
        assert min(cosines) > 0.0
    else:  # pairs may span fewer axes, or none (a zero step)
        assert min(cosines) >= 0.0


def test_without_ridge_least_squares_recovers_a_planted_gradient_exactly(space: DagSpace) -> None:
    rng = np.random.default_rng(0)
    step = PseudoGradientStep(gamma=0.1, ridge=0.0)
    for _ in range(10):
        anchor, slope = rng.uniform(0.15, 0.85, size=space.dim), rng.standard_normal(space.dim)
        row = planted_row(space, anchor, slope, 7, rng, noise=0.0)
        if np.linalg.matrix_rank(row.features - row.features.mean(axis=0)) == space.dim:
            np.testing.assert_allclose(step.gradient(row), 0.2 * slope, atol=1e-9)


def test_least_squares_with_cells_on_the_probe_points_points_along_the_gradient() -> None:
    """Where the cells sit where the paper assumes, both estimators agree on the planted gradient."""
    slope = np.array([0.3, -0.2, 0.1])
    anchor = np.array([0.5, 0.5, 0.5])
    directions = [Direction(0), Direction(1), Direction(2)]
    plus = [1 / 6 + 0.1 * s for s in slope]
    minus = [1 / 6 - 0.1 * s for s in slope]
    row = paper_row(list(anchor), directions, plus, minus)
    for estimator in ESTIMATORS:
        gradient = PseudoGradientStep(gamma=0.1, estimator=estimator, ridge=0.0).gradient(row)
        np.testing.assert_allclose(gradient, 0.2 * slope, atol=1e-12)  # beta change across one pair


def test_pairs_without_displacement_are_skipped() -> None:
    """A pair whose two cells share one feature point adds nothing, however different its betas."""
    anchor = np.array([0.5, 0.5])
    features = np.array([[0.6, 0.5], [0.4, 0.5], [0.5, 0.55], [0.5, 0.55]])  # the axis-1 pair: one point
    with_noise = ProbedRow.from_plan(anchor, features, [0.4, 0.2, 0.9, 0.0], [[0, 1], [1, 1]])
    without = ProbedRow.from_plan(anchor, features[:2], [0.4, 0.2], [[0, 1]])
    step = PseudoGradientStep(gamma=0.1, estimator="pairs", ridge=0.0)
    np.testing.assert_allclose(step.gradient(with_noise), step.gradient(without))
    # slope 1 on axis 0, nothing on the unobserved axis 1
    np.testing.assert_allclose(step.gradient(without), [0.2, 0.0], rtol=1e-4)
    lone = ProbedRow.from_plan(anchor, features[2:], [0.9, 0.0], [[1, 1]])
    np.testing.assert_array_equal(step.gradient(lone), [0.0, 0.0])  # nothing left: no step


def test_least_squares_lets_the_anchor_cell_take_part() -> None:
    """Odd window: the anchor's own cell (position 0) is a data point of the fit; paper ignores it."""
    anchor = np.array([0.5, 0.5])
    features = np.array([[0.5, 0.5], [0.6, 0.5], [0.4, 0.5]])
    low_anchor = ProbedRow.from_plan(anchor, features, [0.0, 0.5, 0.5], [[0, 1]])
    high_anchor = ProbedRow.from_plan(anchor, features, [1.0, 0.5, 0.5], [[0, 1]])
    least_squares = PseudoGradientStep(gamma=0.1, estimator="least_squares")
    paper = PseudoGradientStep(gamma=0.1, estimator="paper")
    np.testing.assert_allclose(paper.gradient(low_anchor), paper.gradient(high_anchor))
    # with the anchor cell off the pairs' line, its beta moves the fit toward or away from it
    shifted = features.copy()
    shifted[0] = [0.5, 0.6]
    up = least_squares.gradient(ProbedRow.from_plan(anchor, shifted, [1.0, 0.5, 0.5], [[0, 1]]))
    down = least_squares.gradient(ProbedRow.from_plan(anchor, shifted, [0.0, 0.5, 0.5], [[0, 1]]))
    assert up[1] > 0 > down[1]


def test_ridge_least_squares_underdetermined_and_degenerate() -> None:
    design, target = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]), np.array([1.0, 4.0, 3.0])
    np.testing.assert_allclose(ridge_least_squares(design, target, 0.0), [1.0, 2.0])
    shrunk = ridge_least_squares(design, target, 0.1)
    assert np.all(np.abs(shrunk) < [1.0, 2.0]) and np.all(shrunk > 0)
    one_row = ridge_least_squares(np.array([[0.1, 0.0]]), np.array([0.05]), 0.0)
    assert one_row[0] == pytest.approx(0.5, rel=1e-4) and one_row[1] == pytest.approx(0.0)  # ~min norm
    np.testing.assert_array_equal(ridge_least_squares(np.zeros((3, 2)), np.ones(3)), [0.0, 0.0])
    np.testing.assert_array_equal(ridge_least_squares(np.zeros((0, 2)), np.zeros(0)), [0.0, 0.0])


def test_log_beta_target_fits_the_log() -> None:
    anchor = np.array([0.5])
    features = np.array([[0.6], [0.4]])
    row = ProbedRow.from_plan(anchor, features, [np.e * 0.1, 0.1], [[0, 1]])
    gradient = PseudoGradientStep(gamma=0.1, target="log_beta", ridge=0.0).gradient(row)
    np.testing.assert_allclose(gradient, [1.0])  # log-beta change across the pair


def test_probe_points_order() -> None:
    points = PseudoGradientStep(gamma=0.2).probe_points([0.5, 0.5], [Direction(1, 2)], include_anchor=True)
    np.testing.assert_allclose(points, [[0.5, 0.5], [0.5, 0.9], [0.5, 0.1]])


@pytest.mark.parametrize(("gamma", "step"), [(0.0, 1.0), (1.5, 1.0), (-0.1, 1.0), (0.1, 0.0), (0.1, -1.0)])
def test_step_parameters_are_validated(gamma: float, step: float) -> None:
    with pytest.raises(ValueError, match="gamma|step"):
        PseudoGradientStep(gamma=gamma, step=step)
    with pytest.raises(ValueError, match="estimator"):
        PseudoGradientStep(estimator="descent")
    with pytest.raises(ValueError, match="target"):
        PseudoGradientStep(target="alpha")
    with pytest.raises(ValueError, match="ridge"):
        PseudoGradientStep(ridge=-1.0)


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
    drawn = row_candidates(space, [np.full(3, 0.5)] * 5, np.random.default_rng(0))
    assert len(set(drawn)) == 5
    distance = [float(np.linalg.norm(space.features(cell) - 0.5)) for cell in row]
    assert sorted(float(np.linalg.norm(space.features(cell) - 0.5)) for cell in drawn) == pytest.approx(distance)


def test_ties_are_drawn_by_default_and_index_keeps_the_fixed_rule(space: DagSpace) -> None:
    with pytest.raises(ValueError, match="ties must be one of"):
        FaDESearcher(space, depth=1, window=4, iterations=1, ties="first")
    searchers = {
        ties: [FaDESearcher(space, depth=3, window=5, iterations=1, seed=seed, ties=ties) for seed in range(6)]
        for ties in ("random", "index")
    }
    for ties, group in searchers.items():
        for searcher in group:
            config = searcher.suggest("a")
            anchors = searcher.anchors
            assert isinstance(config, dict) and anchors is not None
            first = [space.decode(row[0]) for row in config["cells"]]
            nearest = [space.nearest(anchor) for anchor in anchors]
            if ties == "index":
                assert first == nearest
            for cell, other in zip(first, nearest, strict=True):  # equally near (up to float rounding)
                np.testing.assert_allclose(space.features(cell), space.features(other), atol=1e-12)
    assert searchers["random"][0].get_state()["settings"]["ties"] == "random"
    again = FaDESearcher(space, depth=3, window=5, iterations=1, seed=0)
    assert again.suggest("a") == FaDESearcher(space, depth=3, window=5, iterations=1, seed=0).suggest("a")


def test_a_state_saved_before_ties_were_drawn_restores_with_index_ties(space: DagSpace) -> None:
    state = FaDESearcher(space, depth=1, window=4, iterations=2, seed=0, ties="index").get_state()
    del state["settings"]["ties"]
    FaDESearcher(space, depth=1, window=4, iterations=2, seed=0, ties="index").set_state(state)
    with pytest.raises(ValueError):
        FaDESearcher(space, depth=1, window=4, iterations=2, seed=0).set_state(state)


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
    anchors = searcher.anchors
    assert anchors is not None
    for row, anchor in zip(first["cells"], anchors, strict=True):
        cells = [space.decode(obj) for obj in row]
        assert len(set(cells)) == 5
        # odd window: the anchor's own cell first (a cell of the nearest feature group: ties are drawn)
        np.testing.assert_allclose(space.features(cells[0]), space.features(space.nearest(anchor)), atol=1e-12)
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


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_step_uses_alpha_averaged_over_repeats(space: DagSpace, estimator: str) -> None:
    searcher = FaDESearcher(space, depth=1, window=2, iterations=1, repeats=2, step=1.0, seed=0, estimator=estimator)
    a, b = searcher.suggest("a"), searcher.suggest("b")
    assert isinstance(a, dict) and isinstance(b, dict)
    before = searcher.anchors
    assert before is not None
    searcher.on_trial_complete(trial_id="a", result={"alpha": [[0.9, 0.1]], "val_acc": 0.5})
    searcher.on_trial_complete(trial_id="b", result={"alpha": [[0.3, 0.7]], "val_acc": 0.7})
    record = searcher.history[0]
    np.testing.assert_allclose(record["alpha"], [[0.6, 0.4]])
    assert record["metric"] == pytest.approx(0.6)
    assert record["estimator"] == estimator
    row = ProbedRow.from_plan(before[0], record["cell_features"][0], [0.6, 0.4], record["directions"][0])
    step = PseudoGradientStep(gamma=0.1, step=1.0, estimator=estimator)
    np.testing.assert_allclose(record["pseudo_gradient"][0], step.gradient(row))
    np.testing.assert_allclose(record["anchors_after"][0], step.apply(row, space.bounds))
    if estimator == "paper":  # equation (1): the whole difference 0.2 on the probed axis
        axis = record["directions"][0][0][0]
        expected = np.zeros(space.dim)
        expected[axis] = 0.2
        np.testing.assert_allclose(record["anchors_after"][0], np.clip(before[0] + expected, 0, 1), atol=1e-12)
    else:  # toward the + cell, which won
        features = np.array(record["cell_features"][0])
        assert (np.array(record["anchors_after"][0]) - before[0]) @ (features[0] - features[1]) >= 0


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
