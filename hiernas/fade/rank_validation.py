"""FaDE section 3.1, the part without Ray: the plan of a rank validation, which paths to train stand-alone,
and the summary of the measurements.

Four rank sources (``SOURCE_COLUMNS``) are compared with the same ground truth (the stand-alone test accuracy
of each path, averaged over seeds): the FaDE rank (the log of the product of the softmaxed alpha along the
path, averaged over repeats), the same with each row's log alpha standardised, the path-wise validation
accuracy with the shared weights of the trained hyper-architecture (how DARTS-PD scores paths) and the summed
perturbation scores of the path's cells (DARTS-PT). Beside each Spearman's rho the summary gives what bounds
it: the **ceiling** (the rank agreement of the stand-alone accuracies between two halves of the seeds), the
**attainable rho** (how well a noise-free source could agree with the seed-averaged ground truth: the square
root of that mean's reliability, which is higher than the split-half agreement because the ground truth
averages every seed, not half of them) and the **agreement** of each source between repeats of the hyper-
architecture training, with the reliability of the source's average over them.
``hiernas.tune.rank_validation`` runs the trainings as Tune trials and calls these.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hiernas.fade.ranks import (
    all_log_ranks,
    average_alpha,
    kendall,
    log_probs,
    path_log_rank,
    rank_agreement,
    row_standardised,
    spearman,
    top_paths,
)
from hiernas.paths import all_paths, decode_path
from hiernas.results import plot_alpha_heatmap, plot_rank_scatter, write_csv, write_json
from hiernas.stats import spearman_interval

logger = logging.getLogger(__name__)

# Five DAGs of growing depth and width (FaDE 3.1 used five hand-picked DAGs): JSON cell encodings.
DEFAULT_GRAPHS: tuple[dict[str, Any], ...] = (
    {"n": 1, "edges": []},  # one convolution
    {"n": 2, "edges": []},  # two parallel convolutions
    {"n": 2, "edges": [[0, 1]]},  # a chain of two
    {"n": 3, "edges": [[0, 1], [1, 2]]},  # a chain of three
    {"n": 4, "edges": [[0, 1], [0, 2], [1, 3], [2, 3]]},  # a diamond: five convolutions, depth three
)


@dataclass(frozen=True)
class ValidationPlan:
    """Budget and set-up of one rank validation (defaults sized for 15 minutes on 2 CPU cores, digits)."""

    graphs: tuple[dict[str, Any], ...] = DEFAULT_GRAPHS
    repeats: int = 4  # hyper-architecture trainings, alpha and path scores averaged
    num_paths: int = 16  # FaDE 3.1: 16 stand-alone architectures
    # seeds per stand-alone path, accuracy averaged (>= 2 for a ceiling); measured on digits, 3 seeds gave a
    # ceiling of 0.53-0.62: the paths differ by about as much as one path's seeds do
    standalone_seeds: int = 5
    # digits: train accuracy 0.90-0.995 after 12 epochs, 0.996-1.000 after 30 (validate_ranks uses 30 there)
    standalone_epochs: int = 12
    path_selection: str = "random"  # random: uniform (fair to every rank source); quantile: over alpha's ranks
    cpus_per_trial: float = 1
    gpus_per_trial: float = 0
    max_concurrent: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.graphs) < 2:
            raise ValueError(f"need at least 2 graphs per row, got {len(self.graphs)}")
        if self.repeats < 1 or self.num_paths < 3 or self.standalone_seeds < 1 or self.standalone_epochs < 1:
            raise ValueError("repeats, standalone seeds and epochs must be >= 1 and paths >= 3")
        if self.path_selection not in ("quantile", "random"):
            raise ValueError(f"path_selection must be quantile or random, got {self.path_selection!r}")


def random_paths(count: int, depth: int, window: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """``count`` distinct paths drawn uniformly (all of them, in drawn order, when there are fewer): the ranks
    play no part, so a validation can draw them before it trains."""
    total = window**depth
    flat = rng.choice(total, size=min(count, total), replace=False)
    return [decode_path(int(i), depth, window) for i in flat]


def select_paths(log_p: np.ndarray, count: int, how: str, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """``count`` distinct paths: evenly spaced over the predicted ranking, or uniformly at random."""
    depth, window = log_p.shape
    total = window**depth
    count = min(count, total)
    if how == "random":
        return random_paths(count, depth, window, rng)
    ranked = top_paths(log_p, total) if total <= 20_000 else None
    if ranked is None:
        raise ValueError(f"quantile selection needs at most 20000 paths, this space has {total}")
    positions = np.unique(np.linspace(0, total - 1, count).round().astype(int))
    return [ranked[int(i)].path for i in positions]


# paths each repeat scores path-wise when the validated paths are known before the hyper phase (random
# selection): scoring all 625 paths of the digits default took 30 of a repeat's 47 s, and pushed the default
# validation to 1064 s, over its 15 minutes; the path-wise source needs only the validated paths, the others
# give its agreement between repeats a sample of the space to be measured on
PATHWISE_SCORED_PATHS = 128


def paths_to_score(validated: Sequence[Sequence[int]], depth: int, window: int, count: int,
                   seed: int) -> list[tuple[int, ...]]:
    """The paths every repeat scores path-wise: the ``validated`` ones first, then others drawn uniformly
    without repeats (seeded) until there are ``count``; every path, in index order, when the space has no
    more than ``count``."""
    if window**depth <= count:
        return list(all_paths(depth, window))
    chosen = [tuple(int(k) for k in p) for p in validated]
    taken = set(chosen)
    rng = np.random.default_rng(seed)
    while len(chosen) < count:  # a candidate per row: uniform over paths, and no integer of window ** depth
        path = tuple(int(k) for k in rng.integers(window, size=depth))
        if path not in taken:
            chosen.append(path)
            taken.add(path)
    return chosen


def _finite_or_none(value: float) -> float | None:
    return value if np.isfinite(value) else None


def split_half_agreement(accuracies: np.ndarray) -> float | None:
    """How well half the seeds rank the paths like the other half (paths x seeds): the mean Spearman's rho
    between the path means of two disjoint halves of the seeds, over every way of halving them (at most
    20 halvings, seeded). None with fewer than two seeds. A source that knew every path's true accuracy
    would agree with the mean of all seeds better than this (``seed_mean_reliability``)."""
    paths, seeds = accuracies.shape
    if seeds < 2:
        return None
    half = seeds // 2
    rng = np.random.default_rng(0)
    halvings = {tuple(sorted(rng.choice(seeds, size=half, replace=False).tolist())) for _ in range(20 * seeds)}
    rhos = []
    for first in sorted(halvings)[:20]:
        rest = [s for s in range(seeds) if s not in first]
        rhos.append(spearman(accuracies[:, list(first)].mean(axis=1), accuracies[:, rest].mean(axis=1)).coefficient)
    finite = [r for r in rhos if np.isfinite(r)]
    return float(np.mean(finite)) if finite else None


def seed_mean_reliability(accuracies: np.ndarray) -> float | None:
    """The reliability of the seed-averaged accuracy of each path (paths x seeds): the share of its variance
    between paths that is not seed noise, 1 - MS_within / MS_between of a one-way analysis of variance
    (the intra-class correlation ICC(1, k)). None with fewer than two paths or seeds, or no spread at all.

    A noise-free predictor of the paths' true accuracy correlates with the seed mean at about the square
    root of this (Pearson's r; for Spearman's rho an approximation), so that square root bounds the rho
    of any rank source. The split-half agreement understates that bound: each half averages half the seeds.
    """
    paths, seeds = accuracies.shape
    if paths < 2 or seeds < 2:
        return None
    means = accuracies.mean(axis=1)
    between = seeds * float(np.var(means, ddof=1))
    within = float(((accuracies - means[:, None]) ** 2).sum()) / (paths * (seeds - 1))
    if between <= 0:
        return None
    return 1.0 - within / between


def averaged_reliability(agreement: float | None, repeats: int) -> float | None:
    """Spearman-Brown: the reliability of an average over ``repeats`` trainings whose scores agree pairwise
    at ``agreement`` (None when the agreement is unknown or not positive)."""
    if agreement is None or agreement <= 0 or repeats < 1:
        return None
    return repeats * agreement / (1.0 + (repeats - 1) * agreement)


def attainable_rho(*reliabilities: float | None) -> float | None:
    """The correlation two measures can reach at most when each is its true value plus independent noise:
    the square root of the product of their reliabilities (None if any is unknown)."""
    if any(r is None for r in reliabilities):
        return None
    return float(np.sqrt(max(0.0, float(np.prod([r for r in reliabilities if r is not None])))))


# rank source -> its column in paths.csv (and table_cells.csv); higher means predicted better
SOURCE_COLUMNS = {"alpha": "log_rank", "alpha_rows": "row_standardised_rank", "pathwise": "pathwise_val_acc",
                  "perturbation": "perturbation_score", "perturbation_loss": "perturbation_loss_score"}
CELL_SOURCES = ("perturbation", "perturbation_loss")  # sources that score cells; a path sums its cells' scores
RHO_INTERVAL_LEVEL = 0.9  # the bootstrap interval of rho over the paths that every summary reports


@dataclass(frozen=True)
class RankSources:
    """What the repeats of a hyper-architecture training say about its paths, averaged over the repeats.

    ``log_p`` is the log of the averaged softmaxed alpha (``depth x window``); ``pathwise`` the mean
    path-wise validation accuracy of every scored path; ``cell_scores`` the mean ``depth x window`` scores of
    each cell source (``CELL_SOURCES``, ``hiernas.fade.perturbation``; absent when the trials did not score
    cells); ``agreement`` each source's mean pairwise rank agreement between repeats.
    """

    log_p: np.ndarray
    pathwise: dict[tuple[int, ...], float]
    cell_scores: dict[str, np.ndarray]
    agreement: dict[str, float | None]

    def scores(self, path: Sequence[int]) -> dict[str, float | None]:
        """Every source's score of ``path``, keyed by its column (``SOURCE_COLUMNS``); None where unscored."""
        return {
            "log_rank": path_log_rank(self.log_p, path),
            "row_standardised_rank": path_log_rank(row_standardised(self.log_p), path),
            "pathwise_val_acc": self.pathwise.get(tuple(int(k) for k in path)),
            **{SOURCE_COLUMNS[name]: path_log_rank(self.cell_scores[name], path) if name in self.cell_scores else None
               for name in CELL_SOURCES},
        }


def rank_sources(alphas: Sequence[Any], pathwise_per_repeat: Sequence[dict[tuple[int, ...], float]],
                 cell_scores_per_repeat: Mapping[str, Sequence[Any]]) -> RankSources:
    """The rank sources of a set of repeats: each repeat's softmaxed alpha, path-wise validation accuracy per
    scored path (the paths every repeat scored count; none: no path-wise source) and cell scores per cell
    source, averaged over the repeats, with each source's agreement between them."""
    agreement: dict[str, float | None] = {
        "alpha": rank_agreement([all_log_ranks(log_probs(a)) for a in alphas]),
        "alpha_rows": rank_agreement([all_log_ranks(row_standardised(log_probs(a))) for a in alphas]),
    }
    common = sorted(set.intersection(*(set(r) for r in pathwise_per_repeat))) if pathwise_per_repeat else []
    pathwise = {p: float(np.mean([r[p] for r in pathwise_per_repeat])) for p in common}
    if pathwise_per_repeat:
        agreement["pathwise"] = rank_agreement([[r[p] for p in common] for r in pathwise_per_repeat])
    cell_scores = {}
    for name, per_repeat in cell_scores_per_repeat.items():
        scores = [np.asarray(s, dtype=np.float64) for s in per_repeat]
        cell_scores[name] = np.mean(scores, axis=0)
        agreement[name] = rank_agreement([all_log_ranks(s) for s in scores])
    return RankSources(log_probs(average_alpha(alphas)), pathwise, cell_scores, agreement)


def repeat_halves(alphas: Sequence[Any], pathwise_per_repeat: Sequence[dict[tuple[int, ...], float]],
                  cell_scores_per_repeat: Mapping[str, Sequence[Any]]) -> tuple[RankSources, ...]:
    """The rank sources of the first and of the second half of the repeats (none below 2 repeats; with an odd
    count the last sits out, so the halves are alike): the rho of each half says how much a validation's rho
    depends on which repeats ran (on digits two sets of 8 differed by up to 0.25)."""
    half = len(alphas) // 2
    if half < 1:
        return ()
    parts = (slice(0, half), slice(half, 2 * half))
    return tuple(rank_sources(alphas[part], pathwise_per_repeat[part] if pathwise_per_repeat else [],
                              {name: scores[part] for name, scores in cell_scores_per_repeat.items()})
                 for part in parts)


def scored_sources(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The rank sources (name -> column) that scored every row."""
    return {name: column for name, column in SOURCE_COLUMNS.items()
            if rows and all(r.get(column) is not None for r in rows)}


def path_row(path: Sequence[int], ranks: RankSources, results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One row of ``paths.csv``: a path's rank sources and its stand-alone accuracies over the seeds."""
    tests, vals = [r["test_acc"] for r in results], [r["val_acc"] for r in results]
    trains = [r["train_acc"] for r in results]
    return {
        "path": "-".join(map(str, path)),
        **ranks.scores(path),
        "test_acc_mean": float(np.mean(tests)),
        "test_acc_std": float(np.std(tests)),
        "val_acc_mean": float(np.mean(vals)),
        "train_acc_final": float(np.mean(trains)),  # the last epoch's train accuracy: did it converge?
        "seeds": len(tests),
        "test_acc_per_seed": [float(v) for v in tests],
    }


def correlations(scores: Sequence[float], accs: Sequence[float]) -> dict[str, Any]:
    """Spearman's rho and Kendall's tau of ``scores`` against ``accs`` with their p-values, and rho's 90 %
    bootstrap interval over the paths (``spearman_interval``, [low, high]): on 16 paths rho moves by tenths
    with the paths drawn, which a target such as rho >= 0.8 must be read against."""
    rho, tau = spearman(scores, accs), kendall(scores, accs)
    interval = spearman_interval(scores, accs, level=RHO_INTERVAL_LEVEL)
    # NaN (e.g. every accuracy equal) is written as null: strict JSON has no NaN
    return {"spearman_rho": _finite_or_none(rho.coefficient), "spearman_p": _finite_or_none(rho.p_value),
            "spearman_interval": None if interval is None else list(interval),
            "kendall_tau": _finite_or_none(tau.coefficient), "kendall_p": _finite_or_none(tau.p_value)}


def _source(scores: Sequence[float], accs: Sequence[float], agreement: float | None, repeats: int,
            truth_reliability: float | None) -> dict[str, float | None]:
    """One rank source's entry: its correlations, its agreement between repeats, the reliability of its
    average over the repeats and the rho that noise alone would leave it (``attainable_rho``)."""
    reliability = averaged_reliability(agreement, repeats)
    return {**correlations(scores, accs), "agreement": agreement, "averaged_reliability": reliability,
            "attainable_rho": attainable_rho(reliability, truth_reliability)}


def _half_rhos(rows: Sequence[dict[str, Any]], column: str, accs: Sequence[float],
               halves: Sequence[RankSources]) -> list[float | None] | None:
    """Rho of one source's column as each half of the repeats scores the rows' paths (None without halves)."""
    if not halves:
        return None
    rhos: list[float | None] = []
    for half in halves:
        scores = [half.scores([int(k) for k in r["path"].split("-")])[column] for r in rows]
        scored = [v for v in scores if v is not None]
        rhos.append(_finite_or_none(spearman(scored, accs).coefficient) if len(scored) == len(rows) else None)
    return rhos


def summarise(rows: Sequence[dict[str, Any]], alpha: np.ndarray, agreement: dict[str, float | None],
              extra: dict[str, Any], repeats: int = 1, halves: Sequence[RankSources] = ()) -> dict[str, Any]:
    """The validation's summary: per rank source its correlations with the mean stand-alone test accuracy,
    its agreement between ``repeats``, what noise alone would let it reach and (given the ``halves`` of the
    repeats, ``repeat_halves``) the rho of each half; the ground truth's ceiling and attainable rho; and
    ``extra``. The top-level ``spearman_rho`` and ``kendall_tau`` are the FaDE (alpha) rank's, as in the
    first version."""
    accs = [r["test_acc_mean"] for r in rows]
    per_seed = np.array([r["test_acc_per_seed"] for r in rows], dtype=np.float64)
    truth = seed_mean_reliability(per_seed)
    sources = {name: {**_source([r[column] for r in rows], accs, agreement.get(name), repeats, truth),
                      "rho_repeat_halves": _half_rhos(rows, column, accs, halves)}
               for name, column in scored_sources(rows).items()}
    alpha_source = sources["alpha"]
    return {
        # the first version's top-level keys: alpha's correlations and agreement (its bound stays in sources,
        # so the top-level attainable_rho is the ground truth's alone)
        **{k: alpha_source[k] for k in ("spearman_rho", "spearman_p", "kendall_tau", "kendall_p", "agreement")},
        "sources": sources,
        "ceiling": split_half_agreement(per_seed),
        "ground_truth_reliability": truth,
        "attainable_rho": attainable_rho(truth),
        "alpha_agreement": agreement.get("alpha"),
        "alpha_mean": alpha.tolist(),
        "paths": list(rows),
        **extra,
    }


def format_number(value: float | None, spec: str) -> str:
    """``value`` formatted by ``spec``, or "n/a" when it is undefined (None)."""
    return "n/a" if value is None else format(value, spec)


def rho_text(source: dict[str, Any]) -> str:
    """A source's rho for the console: its value, p-value and bootstrap interval over the paths."""
    bounds = source.get("spearman_interval")
    interval = "" if bounds is None else f"; {RHO_INTERVAL_LEVEL:.0%} over paths {bounds[0]:+.2f}..{bounds[1]:+.2f}"
    rho, p_value = format_number(source["spearman_rho"], "+.3f"), format_number(source["spearman_p"], ".3g")
    return f"Spearman rho {rho} (p {p_value}{interval})"


def describe(summary: dict[str, Any]) -> str:
    """One line per rank source for the console: rho, p, its interval, agreement; then the ceiling."""
    number = format_number
    width = max(map(len, summary["sources"]))

    def halves(source: dict[str, Any]) -> str:
        rhos = source.get("rho_repeat_halves")
        return "" if not rhos else "; halves of the repeats " + " / ".join(number(r, "+.2f") for r in rhos)

    lines = [
        f"{name:{width}s} {rho_text(s)}, "
        f"Kendall tau {number(s['kendall_tau'], '+.3f')}, agreement between repeats {number(s['agreement'], '.3f')}"
        f" (rho its noise allows {number(s.get('attainable_rho'), '.2f')}{halves(s)})"
        for name, s in summary["sources"].items()
    ]
    lines.append(f"ground truth over {len(summary['paths'])} paths: split-half rank agreement "
                 f"{number(summary['ceiling'], '.3f')}; a noise-free rank source would reach rho about "
                 f"{number(summary.get('attainable_rho'), '.2f')} (reliability of the seed mean "
                 f"{number(summary.get('ground_truth_reliability'), '.2f')})")
    return "\n".join(lines)
def write_validation(results_dir: str, summary: dict[str, Any]) -> None:
    """``rank_validation.json``, ``paths.csv``, ``rank_scatter.png`` and ``alpha.png`` in ``results_dir``."""
    os.makedirs(results_dir, exist_ok=True)
    rows = summary["paths"]
    ranks, accs = [r["log_rank"] for r in rows], [r["test_acc_mean"] for r in rows]
    write_json(os.path.join(results_dir, "rank_validation.json"), summary)
    write_csv(os.path.join(results_dir, "paths.csv"),
              [{k: v for k, v in r.items() if k != "test_acc_per_seed"} for r in rows])
    rho = summary["spearman_rho"]
    plot_rank_scatter(os.path.join(results_dir, "rank_scatter.png"), ranks, accs,
                      float("nan") if rho is None else rho,
                      float("nan") if summary["spearman_p"] is None else summary["spearman_p"])
    plot_alpha_heatmap(os.path.join(results_dir, "alpha.png"), summary["alpha_mean"])
