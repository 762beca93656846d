"""FaDE ranks: psi_alpha(path) = prod_i softmax(alpha_i)[k_i], kept as a sum of logs so it never underflows.

Rows are treated as independent (FaDE section 2.3), so the k best paths of a ``depth x window`` matrix
are found row by row with an exact beam of width k: a prefix outside the k best prefixes can never
complete to one of the k best paths, because each of those k better prefixes completes the same suffix
better. Cost O(depth * k * window) instead of window ** depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ArrayLike = Sequence[Sequence[float]] | np.ndarray
Vector = Sequence[float] | np.ndarray  # one score per item


def log_softmax_rows(alpha_logits: ArrayLike) -> np.ndarray:
    """Row-wise log-softmax of raw architecture weights ``(depth, window)``."""
    logits = np.asarray(alpha_logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def log_probs(alpha: ArrayLike, *, softmaxed: bool = True) -> np.ndarray:
    """Log of the per-row probabilities: ``alpha`` already softmaxed (what trials report) or raw logits."""
    if not softmaxed:
        return log_softmax_rows(alpha)
    probs = np.asarray(alpha, dtype=np.float64)
    return np.log(np.clip(probs, 1e-300, None))


def row_standardised(log_p: ArrayLike) -> np.ndarray:
    """Each row's log-probabilities centred and scaled to unit SD (a row without spread becomes zeros).

    Summed along a path, every row then weighs alike. Plain log alpha lets the rows whose alpha moved most
    decide the path rank; on digits those were not the rows that matter most stand-alone (README, "Rank
    validation"), so rank validation reports this weighting as a source of its own.
    """
    rows = np.asarray(log_p, dtype=np.float64)
    centred = rows - rows.mean(axis=1, keepdims=True)
    spread = centred.std(axis=1, keepdims=True)
    return np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)


def path_log_rank(log_p: np.ndarray, path: Sequence[int]) -> float:
    """log psi_alpha of one path: the sum over rows of the log-probability of its candidate."""
    return float(sum(log_p[i, k] for i, k in enumerate(path)))


@dataclass(frozen=True)
class RankedPath:
    """A path through the rows (candidate index per row) and its log FaDE rank."""

    path: tuple[int, ...]
    log_rank: float


def top_paths(log_p: np.ndarray, k: int) -> list[RankedPath]:
    """The ``k`` best paths by log FaDE rank, best first, without enumerating window ** depth paths."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    beam: list[tuple[float, tuple[int, ...]]] = [(0.0, ())]
    for row in np.asarray(log_p, dtype=np.float64):
        extended = [(score + float(row[j]), prefix + (j,)) for score, prefix in beam for j in range(len(row))]
        # ties broken by the lexicographically smaller path, so the order is deterministic
        extended.sort(key=lambda item: (-item[0], item[1]))
        beam = extended[:k]
    return [RankedPath(path, score) for score, path in beam]


def average_alpha(alphas: Sequence[ArrayLike]) -> np.ndarray:
    """Average softmaxed alpha over repetitions (FaDE 3.1: averaged marginals per cell)."""
    if not alphas:
        raise ValueError("average_alpha needs at least one alpha")
    return np.mean([np.asarray(a, dtype=np.float64) for a in alphas], axis=0)


@dataclass(frozen=True)
class Correlation:
    """A rank correlation coefficient and its two-sided p-value."""

    coefficient: float
    p_value: float


def spearman(x: Vector, y: Vector) -> Correlation:
    """Spearman's rho between two score lists (e.g. FaDE log-ranks and stand-alone accuracies)."""
    from scipy import stats  # lazy: scipy.stats costs ~0.8 s at every trial actor's start, trials never use it

    result = stats.spearmanr(x, y)
    return Correlation(float(result.statistic), float(result.pvalue))


def kendall(x: Vector, y: Vector) -> Correlation:
    """Kendall's tau-b between two score lists."""
    from scipy import stats

    result = stats.kendalltau(x, y)
    return Correlation(float(result.statistic), float(result.pvalue))


def all_log_ranks(log_p: np.ndarray) -> np.ndarray:
    """The log FaDE rank of every path, in path-index order (``hiernas.paths``): shape ``(window ** depth,)``."""
    total = np.zeros(())
    for row in np.asarray(log_p, dtype=np.float64):
        total = np.add.outer(total, row)
    return total.reshape(-1)


def rank_agreement(scores: Sequence[Vector]) -> float | None:
    """Mean pairwise Spearman's rho between score vectors over the same items (e.g. every path's log rank
    after each of several repeats): how well repeats agree. None with fewer than two vectors."""
    vectors = [np.asarray(s, dtype=np.float64) for s in scores]
    if len(vectors) < 2:
        return None
    rhos = [spearman(a, b).coefficient for i, a in enumerate(vectors) for b in vectors[i + 1 :]]
    finite = [r for r in rhos if np.isfinite(r)]
    return float(np.mean(finite)) if finite else None


def score_alpha(scores: ArrayLike, temperature: float) -> list[list[float]]:
    """Cell scores ``(depth, window)`` as a rank matrix in alpha's form (rows summing to 1): row i is the
    softmax of its scores over ``temperature``, so a path's log rank is its summed score over
    ``temperature`` up to a constant, and searchers that read alpha can rank by it."""
    logits = np.asarray(scores, dtype=np.float64) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return (weights / weights.sum(axis=1, keepdims=True)).tolist()


PATHWISE_TEMPERATURE = 0.01  # accuracy difference per factor e between two cells' weights


def pathwise_alpha(paths: Sequence[Sequence[int]], accs: Vector, window: int,
                   temperature: float = PATHWISE_TEMPERATURE) -> list[list[float]] | None:
    """A rank matrix from path-wise accuracies, in alpha's form (``depth x window``, rows summing to 1).

    Cell j of row i scores the mean validation accuracy of the scored paths through it (with the shared
    weights; DARTS-PD's path scores); the row is the softmax of those means over ``temperature``. A cell
    no scored path went through gets its row's lowest mean. None without scored paths.
    """
    if len(paths) == 0:
        return None
    depth = len(paths[0])
    scores = np.asarray(accs, dtype=np.float64)
    rows = []
    for i in range(depth):
        sums, counts = np.zeros(window), np.zeros(window)
        for path, acc in zip(paths, scores, strict=True):
            sums[int(path[i])] += acc
            counts[int(path[i])] += 1
        seen = counts > 0
        rows.append(np.where(seen, sums / np.maximum(counts, 1), np.min(sums[seen] / counts[seen])))
    return score_alpha(np.array(rows), temperature)
