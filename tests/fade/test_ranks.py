"""FaDE ranks: log-space products, exact top-k without enumeration, correlation helpers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hiernas.fade.ranks import (
    average_alpha,
    kendall,
    log_probs,
    log_softmax_rows,
    path_log_rank,
    row_standardised,
    spearman,
    top_paths,
)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("depth,window,k", [(3, 4, 5), (4, 3, 81), (2, 6, 1), (5, 2, 7)])
def test_top_paths_equal_brute_force_products(depth: int, window: int, k: int) -> None:
    rng = np.random.default_rng(depth * 10 + window)
    logits = rng.standard_normal((depth, window))
    probs = _softmax(logits)
    brute = sorted(
        ((float(np.prod([probs[i, j] for i, j in enumerate(p)])), p)
         for p in itertools.product(range(window), repeat=depth)),
        key=lambda item: -item[0],
    )
    ranked = top_paths(log_probs(probs), k)
    assert len(ranked) == min(k, window**depth)
    for r, (product, path) in zip(ranked, brute, strict=False):
        assert np.exp(r.log_rank) == pytest.approx(product, rel=1e-9)
        assert np.exp(path_log_rank(log_probs(probs), r.path)) == pytest.approx(product, rel=1e-9)
        assert r.path == path


def test_log_ranks_do_not_underflow_on_deep_networks() -> None:
    probs = np.full((400, 6), 1 / 6)
    ranked = top_paths(log_probs(probs), 3)
    assert np.isfinite(ranked[0].log_rank)
    assert ranked[0].log_rank == pytest.approx(400 * np.log(1 / 6))


def test_raw_logits_and_softmaxed_alpha_agree() -> None:
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]])
    np.testing.assert_allclose(log_probs(logits, softmaxed=False), np.log(_softmax(logits)))
    np.testing.assert_allclose(np.exp(log_softmax_rows(logits)).sum(axis=1), 1.0)


def test_average_alpha_and_correlations() -> None:
    np.testing.assert_allclose(average_alpha([[[0.2, 0.8]], [[0.4, 0.6]]]), [[0.3, 0.7]])
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]).coefficient == pytest.approx(1.0)
    assert kendall([1, 2, 3, 4], [4, 3, 2, 1]).coefficient == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        top_paths(np.zeros((2, 2)), 0)


def test_pathwise_alpha_is_a_softmax_of_each_cells_mean_path_accuracy() -> None:
    from hiernas.fade.ranks import pathwise_alpha

    paths = [[0, 0], [0, 1], [1, 0], [1, 1]]
    accs = [0.50, 0.52, 0.60, 0.62]  # row 0: cell 1 +0.10; row 1: cell 1 +0.02
    rows = np.asarray(pathwise_alpha(paths, accs, window=3, temperature=0.01))
    assert rows.shape == (2, 3) and np.allclose(rows.sum(axis=1), 1)
    assert rows[0, 1] / rows[0, 0] == pytest.approx(np.exp(10)) and rows[1, 1] / rows[1, 0] == pytest.approx(np.exp(2))
    assert rows[0, 2] == pytest.approx(rows[0, 0])  # never scored: the row's lowest mean
    assert pathwise_alpha([], [], window=3) is None


def test_pathwise_ranks_paths_as_the_single_path_removal_score() -> None:
    """The claim of ``hiernas.fade.perturbation``: over all paths, the accuracy lost by the paths avoiding a
    cell, summed along a path, orders paths exactly as the path-wise rank matrix does."""
    from hiernas.fade.ranks import pathwise_alpha

    depth, window = 3, 4
    paths = [list(p) for p in itertools.product(range(window), repeat=depth)]
    rng = np.random.default_rng(5)
    accs = rng.uniform(0.3, 0.9, size=len(paths))
    drop = np.array([[accs.mean() - accs[[p[i] != k for p in paths]].mean() for k in range(window)]
                     for i in range(depth)])
    removal_rank = [sum(drop[i, k] for i, k in enumerate(p)) for p in paths]
    log_p = np.log(np.asarray(pathwise_alpha(paths, accs, window)))
    pathwise_rank = [path_log_rank(log_p, p) for p in paths]
    assert spearman(removal_rank, pathwise_rank).coefficient == pytest.approx(1.0)
    assert spearman(removal_rank, accs).coefficient < 0.9  # neither is the accuracy itself: the check can fail


def test_row_standardised_weighs_every_row_alike() -> None:
    """A row whose log alpha moved little counts as much as one that moved far; the order within a row stays."""
    log_p = np.log(np.array([[0.34, 0.33, 0.33], [0.9, 0.05, 0.05], [1 / 3, 1 / 3, 1 / 3]]))
    z = row_standardised(log_p)
    assert np.allclose(z[:2].mean(axis=1), 0) and np.allclose(z[:2].std(axis=1), 1)
    assert np.array_equal(z[2], np.zeros(3))  # no spread: no say in the rank
    assert np.array_equal(np.argsort(z[0]), np.argsort(log_p[0]))
    # plain log alpha lets row 1 (which moved far) decide between "row 0's best" and "row 1's best";
    # standardised, the two rows weigh alike and the two paths tie
    assert path_log_rank(log_p, (1, 0, 0)) > path_log_rank(log_p, (0, 1, 0)) + 2
    assert path_log_rank(z, (1, 0, 0)) == pytest.approx(path_log_rank(z, (0, 1, 0)))
