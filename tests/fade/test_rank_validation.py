"""The rank validation's statistics without Ray: how much the ground truth and the rank sources could agree,
the path choice and the summary."""

from __future__ import annotations

import numpy as np
import pytest

from hiernas.fade.rank_validation import (
    SOURCE_COLUMNS,
    RankSources,
    attainable_rho,
    averaged_reliability,
    describe,
    path_row,
    paths_to_score,
    random_paths,
    rank_sources,
    repeat_halves,
    scored_sources,
    seed_mean_reliability,
    select_paths,
    split_half_agreement,
    summarise,
)


def planted(paths: int, seeds: int, spread: float, noise: float, seed: int = 0) -> np.ndarray:
    """Accuracies of paths with true values ``spread`` apart (SD) plus seed noise of SD ``noise``."""
    rng = np.random.default_rng(seed)
    true = rng.normal(0.9, spread, size=(paths, 1))
    return true + rng.normal(0.0, noise, size=(paths, seeds))


def test_reliability_of_the_seed_mean_matches_the_planted_variances() -> None:
    # true SD 0.03, seed SD 0.03, 5 seeds: reliability 0.03^2 / (0.03^2 + 0.03^2 / 5) = 5/6
    estimates = [seed_mean_reliability(planted(400, 5, 0.03, 0.03, seed=s)) for s in range(5)]
    assert np.mean([e for e in estimates if e is not None]) == pytest.approx(5 / 6, abs=0.03)
    assert seed_mean_reliability(planted(30, 4, 0.03, 0.0)) == pytest.approx(1.0)
    assert seed_mean_reliability(np.ones((4, 3))) is None  # no spread: nothing to rank
    assert seed_mean_reliability(np.ones((4, 1))) is None and seed_mean_reliability(np.ones((1, 3))) is None


def test_attainable_rho_is_above_the_split_half_agreement_and_matches_a_noise_free_source() -> None:
    rng = np.random.default_rng(3)
    true = rng.normal(0.9, 0.03, size=200)
    accs = true[:, None] + rng.normal(0.0, 0.04, size=(200, 6))
    reliability = seed_mean_reliability(accs)
    bound = attainable_rho(reliability)
    assert reliability is not None and bound is not None
    observed = float(np.corrcoef(true, accs.mean(axis=1))[0, 1])  # the noise-free source
    assert bound == pytest.approx(observed, abs=0.05)
    half = split_half_agreement(accs)
    assert half is not None and half < bound


def test_spearman_brown_and_the_joint_bound() -> None:
    assert averaged_reliability(0.5, 1) == pytest.approx(0.5)
    assert averaged_reliability(0.5, 3) == pytest.approx(0.75)
    assert averaged_reliability(None, 3) is None and averaged_reliability(-0.2, 3) is None
    assert attainable_rho(0.81, 0.64) == pytest.approx(0.72)
    assert attainable_rho(0.8, None) is None


def test_split_half_agreement_of_consistent_seeds_is_one_and_needs_two_seeds() -> None:
    accs = np.array([[0.1, 0.1, 0.1, 0.1], [0.5, 0.6, 0.5, 0.6], [0.9, 0.95, 0.9, 0.95]])
    assert split_half_agreement(accs) == pytest.approx(1.0)
    assert split_half_agreement(accs[:, :1]) is None


def test_random_paths_are_distinct_and_quantile_paths_span_alpha_ranking() -> None:
    log_p = np.log(np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1]]))
    random_paths = select_paths(log_p, 5, "random", np.random.default_rng(0))
    assert len(set(random_paths)) == 5
    assert select_paths(log_p, 5, "random", np.random.default_rng(0)) == random_paths
    ranked = select_paths(log_p, 3, "quantile", np.random.default_rng(0))
    assert ranked[0] == (0, 0) and ranked[-1] == (2, 2)
    assert len(select_paths(log_p, 50, "random", np.random.default_rng(0))) == 9  # at most every path


def test_scored_paths_lead_with_the_validated_ones_and_are_distinct_and_seeded() -> None:
    validated = random_paths(16, 4, 5, np.random.default_rng(0))
    # a random selection ignores the ranks: drawn before the hyper phase, it is the one drawn after it
    assert validated == select_paths(np.log(np.full((4, 5), 0.2)) + 0.1, 16, "random", np.random.default_rng(0))
    scored = paths_to_score(validated, 4, 5, 128, seed=1)
    assert scored[:16] == validated and len(set(scored)) == 128
    assert all(len(p) == 4 and all(0 <= k < 5 for k in p) for p in scored)
    assert scored == paths_to_score(validated, 4, 5, 128, seed=1) != paths_to_score(validated, 4, 5, 128, seed=2)
    assert paths_to_score(validated[:3], 2, 5, 128, seed=1) == [(i, j) for i in range(5) for j in range(5)]
    assert len(paths_to_score([(0,) * 16], 16, 6, 20, seed=0)) == 20  # 6 ** 16 paths: drawn row by row


def test_summary_gives_every_source_its_bound_and_the_console_says_them() -> None:
    accs = planted(8, 4, 0.03, 0.01, seed=1)
    log_p = np.log(np.full((2, 3), 1 / 3))
    rows = [{"path": str(i), "log_rank": float(accs[i].mean()), "pathwise_val_acc": float(-accs[i].mean()),
             "test_acc_mean": float(accs[i].mean()), "test_acc_per_seed": accs[i].tolist()} for i in range(8)]
    summary = summarise(rows, np.exp(log_p), {"alpha": 0.6, "pathwise": 0.2}, {"note": "x"}, repeats=4)
    alpha, pathwise = summary["sources"]["alpha"], summary["sources"]["pathwise"]
    assert alpha["spearman_rho"] == pytest.approx(1.0) and pathwise["spearman_rho"] == pytest.approx(-1.0)
    assert alpha["averaged_reliability"] == pytest.approx(4 * 0.6 / (1 + 3 * 0.6))
    truth = summary["ground_truth_reliability"]
    assert truth is not None and 0.8 < truth <= 1.0
    assert summary["attainable_rho"] == pytest.approx(np.sqrt(truth))  # the ground truth's, not alpha's
    assert summary["spearman_rho"] == alpha["spearman_rho"] and summary["agreement"] == 0.6
    assert "averaged_reliability" not in summary
    assert alpha["attainable_rho"] == pytest.approx(np.sqrt(truth * alpha["averaged_reliability"]))
    assert pathwise["attainable_rho"] < alpha["attainable_rho"] and summary["note"] == "x"
    assert alpha["spearman_interval"] == [pytest.approx(1.0), pytest.approx(1.0)]  # every resample agrees
    assert pathwise["spearman_interval"] == [pytest.approx(-1.0), pytest.approx(-1.0)]
    text = describe(summary)
    assert "noise-free rank source would reach rho about" in text and "rho its noise allows" in text
    assert "90% over paths +1.00..+1.00" in text
    assert "alpha_rows" not in summary["sources"]  # rows without the row-standardised rank: no such source


def test_row_standardised_alpha_is_a_source_of_its_own() -> None:
    accs = planted(6, 3, 0.03, 0.01, seed=2)
    rows = [{"path": str(i), "log_rank": float(-accs[i].mean()), "row_standardised_rank": float(accs[i].mean()),
             "pathwise_val_acc": None, "test_acc_mean": float(accs[i].mean()),
             "test_acc_per_seed": accs[i].tolist()} for i in range(6)]
    summary = summarise(rows, np.full((2, 3), 1 / 3), {"alpha": 0.5, "alpha_rows": 0.7}, {}, repeats=2)
    assert set(summary["sources"]) == {"alpha", "alpha_rows"}
    assert summary["sources"]["alpha_rows"]["spearman_rho"] == pytest.approx(1.0)
    assert summary["sources"]["alpha_rows"]["agreement"] == 0.7
    assert summary["spearman_rho"] == pytest.approx(-1.0)  # the top level stays plain alpha's
    assert "alpha_rows" in describe(summary)


def test_every_source_scores_a_path_and_an_unscored_source_is_left_out() -> None:
    log_p = np.log(np.array([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]]))
    perturbation = np.array([[0.04, 0.01, -0.02], [0.0, 0.03, 0.01]])
    cell_scores = {"perturbation": perturbation, "perturbation_loss": -perturbation}
    ranks = RankSources(log_p, {(0, 2): 0.8}, cell_scores, {"alpha": 0.5, "perturbation": 0.9})
    results = [{"test_acc": 0.9, "val_acc": 0.8, "train_acc": 1.0}, {"test_acc": 0.7, "val_acc": 0.8, "train_acc": 1.0}]
    row = path_row((0, 2), ranks, results)
    assert row["log_rank"] == pytest.approx(np.log(0.5 * 0.6))
    assert row["perturbation_score"] == pytest.approx(0.05) and row["pathwise_val_acc"] == 0.8
    assert row["perturbation_loss_score"] == pytest.approx(-0.05)
    assert row["test_acc_mean"] == pytest.approx(0.8) and row["test_acc_per_seed"] == [0.9, 0.7]
    unscored = path_row((1, 1), RankSources(log_p, {}, {}, {}), results)
    assert unscored["pathwise_val_acc"] is None and unscored["perturbation_score"] is None
    assert scored_sources([row]) == SOURCE_COLUMNS
    assert set(scored_sources([row, unscored])) == {"alpha", "alpha_rows"}


def test_perturbation_is_a_source_with_its_own_agreement() -> None:
    accs = planted(6, 3, 0.03, 0.01, seed=3)
    rows = [{"path": str(i), "log_rank": float(i % 2), "row_standardised_rank": float(i % 3), "pathwise_val_acc": None,
             "perturbation_score": float(accs[i].mean()), "test_acc_mean": float(accs[i].mean()),
             "test_acc_per_seed": accs[i].tolist()} for i in range(6)]
    summary = summarise(rows, np.full((2, 3), 1 / 3), {"alpha": 0.5, "perturbation": 0.8}, {}, repeats=8)
    assert set(summary["sources"]) == {"alpha", "alpha_rows", "perturbation"}
    assert summary["sources"]["perturbation"]["spearman_rho"] == pytest.approx(1.0)
    assert summary["sources"]["perturbation"]["averaged_reliability"] == pytest.approx(8 * 0.8 / (1 + 7 * 0.8))
    assert "perturbation" in describe(summary)


def test_rank_sources_average_the_repeats_and_measure_their_agreement() -> None:
    first, second = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]), np.array([[0.5, 0.3, 0.2], [0.3, 0.3, 0.4]])
    cells = [np.array([[0.03, 0.01, 0.0], [0.0, 0.01, 0.02]]), np.array([[0.06, 0.02, 0.0], [0.0, 0.02, 0.04]])]
    pathwise = [{(0, 0): 0.9, (1, 2): 0.5, (2, 2): 0.4}, {(0, 0): 0.7, (1, 2): 0.6}]
    ranks = rank_sources([first, second], pathwise, {"perturbation": cells})
    assert np.allclose(ranks.log_p, np.log((first + second) / 2))
    assert np.allclose(ranks.cell_scores["perturbation"], (cells[0] + cells[1]) / 2)
    assert ranks.pathwise == {(0, 0): pytest.approx(0.8), (1, 2): pytest.approx(0.55)}  # paths both repeats scored
    assert ranks.agreement["perturbation"] == pytest.approx(1.0)  # twice the scores: the same order of all 9 paths
    assert ranks.agreement["pathwise"] == pytest.approx(1.0)
    assert ranks.agreement["alpha"] is not None and ranks.agreement["alpha"] < 1.0
    without_paths = rank_sources([first], [], {})
    assert without_paths.pathwise == {} and "pathwise" not in without_paths.agreement
    assert without_paths.agreement["alpha"] is None  # one repeat: nothing to agree with


def test_each_half_of_the_repeats_gets_its_own_rho() -> None:
    accs = planted(6, 3, 0.03, 0.01, seed=4)
    paths = [(i // 3, i % 3) for i in range(6)]  # depth 2, window 3
    truth = {p: float(a) for p, a in zip(paths, accs.mean(axis=1), strict=True)}

    def cell_scores(sign: float) -> np.ndarray:  # scores whose path sums order the paths as +-truth does
        scores = np.zeros((2, 3))
        for (row0, row1), acc in truth.items():
            scores[0, row0] += sign * acc
            scores[1, row1] += sign * acc * 1e-3
        return scores

    good, bad = cell_scores(1.0), cell_scores(-1.0)
    rng = np.random.default_rng(5)
    alphas = [a / a.sum(axis=1, keepdims=True) for a in rng.uniform(0.1, 1.0, size=(5, 2, 3))]
    halves = repeat_halves(alphas, [], {"perturbation": [good, good, bad, bad, good]})
    assert len(halves) == 2  # 2 + 2 repeats, the fifth sits out
    assert np.allclose(halves[0].cell_scores["perturbation"], good)
    assert np.allclose(halves[1].cell_scores["perturbation"], bad)
    rows = [{"path": "-".join(map(str, p)), "log_rank": float(j), "row_standardised_rank": float(-j),
             "pathwise_val_acc": None,
             "perturbation_score": float(sum(good[i, k] for i, k in enumerate(p))), "test_acc_mean": truth[p],
             "test_acc_per_seed": accs[j].tolist()} for j, p in enumerate(paths)]
    order = np.argsort([r["perturbation_score"] for r in rows])
    expected = float(np.corrcoef(order.argsort(), np.argsort([r["test_acc_mean"] for r in rows]).argsort())[0, 1])
    summary = summarise(rows, alphas[0], {"alpha": None, "perturbation": 0.5}, {}, repeats=5, halves=halves)
    first, second = summary["sources"]["perturbation"]["rho_repeat_halves"]
    assert first == pytest.approx(expected) and second == pytest.approx(-expected)
    assert "halves of the repeats" in describe(summary)
    assert repeat_halves(alphas[:1], [], {}) == ()
    assert summarise(rows, alphas[0], {}, {})["sources"]["perturbation"]["rho_repeat_halves"] is None
