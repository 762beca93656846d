"""The values the searchers share: argument checks, the JSON conversion and the records a search produces.

``Proposal`` is one iteration's hyper-architecture as a searcher proposes it; an iteration's record (a
dict in ``BatchSearcher.history``) carries the fields of ``path_fields``; ``PathRecord`` is a path as
``BatchSearcher.best`` hands it out, and ``paths_from_history`` ranks the recorded paths of a history.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spaces.base import FloatArray

__all__ = [
    "RANK_SOURCES",
    "PathRecord",
    "Proposal",
    "check_float",
    "check_int",
    "describe_record",
    "finite_metric",
    "path_fields",
    "paths_from_history",
    "to_json",
]

# rank source -> the reported (depth, window) matrix that ranks the cells: the architecture weights, the
# path-wise validation accuracies with the shared weights (hiernas.fade.ranks.pathwise_alpha), or the
# validation accuracy drop / loss rise when a cell leaves its row's mixture (DARTS-PT; hiernas.fade.perturbation)
RANK_SOURCES = {"alpha": "alpha", "pathwise": "pathwise_alpha", "perturbation": "perturbation_alpha",
                "perturbation_loss": "perturbation_loss_alpha"}


def check_int(name: str, value: object, low: int, high: float = math.inf) -> int:
    """``value`` as an int in ``[low, high]``, else a ValueError naming it and the range."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        allowed = f">= {low}" if high == math.inf else f"in {low}..{int(high)}"
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")
    return int(value)


def check_float(
    name: str, value: object, low: float, high: float, *, low_open: bool, high_open: bool
) -> float:
    """``value`` as a finite float in the given interval, else a ValueError naming it and the interval."""
    interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    number = float(value)
    inside = (low < number if low_open else low <= number) and (
        number < high if high_open else number <= high
    )
    if not math.isfinite(number) or not inside:
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return number


def finite_metric(value: object) -> float | None:
    """A reported metric as a float when it is a finite real number (not a bool), else None (no metric)."""
    if isinstance(value, int | float | np.number) and not isinstance(value, bool):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def to_json(value: Any) -> Any:
    """A JSON-able copy: numpy to Python, tuples to lists, non-finite floats to None."""
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [to_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"{type(value).__name__} value {value!r} is not JSON-able")


@dataclass(frozen=True)
class PathRecord:
    """A path through the rows (one cell per row) found by a searcher."""

    iteration: int  # 0-based iteration whose hyper-architecture held the path
    indices: tuple[int, ...]  # candidate index per row
    cells: tuple[Any, ...]  # cell JSON per row
    score: float  # log FaDE rank (FaDE, random) or validation accuracy of the path (evolution)
    metric: float | None  # the searcher's metric for that iteration (mean over repeats)


@dataclass(frozen=True)
class Proposal:
    """One iteration's hyper-architecture as a subclass proposes it."""

    cells: list[list[Any]]  # cell JSON, ``depth`` rows of ``window``
    plan: dict[str, Any] = field(default_factory=dict)  # JSON-able, handed back to ``_finish``
    extra_config: dict[str, Any] = field(default_factory=dict)  # merged into every trial config


def path_fields(cells: Sequence[Sequence[Any]], path: Sequence[int], alpha: FloatArray) -> dict[str, Any]:
    """Record fields of a path: its indices, its cells and its log FaDE rank (sum of log alpha)."""
    with np.errstate(divide="ignore"):
        log_rank = float(sum(np.log(alpha[row, j]) for row, j in enumerate(path)))
    return {
        "best_path": [int(j) for j in path],
        "best_cells": [cells[row][j] for row, j in enumerate(path)],
        "log_rank": log_rank if math.isfinite(log_rank) else None,
    }


def paths_from_history(history: Sequence[Mapping[str, Any]], mode: str, n: int) -> list[PathRecord]:
    """The recorded best paths of the ``n`` best successful iterations, best first.

    FaDE ranks are relative to one hyper-architecture and cannot be compared across iterations, so the
    iterations are ranked by the trainable's metric (``mode`` "max" or "min"; ties: the earlier one);
    iterations without a metric come after those with one, the latest first.
    """
    candidates = [r for r in history if r["status"] == "ok" and r.get("best_path") is not None]
    sign = 1.0 if mode == "max" else -1.0
    scored = sorted(
        (r for r in candidates if r["metric"] is not None), key=lambda r: (-sign * r["metric"], r["iteration"])
    )
    unscored = [r for r in reversed(candidates) if r["metric"] is None]
    return [
        PathRecord(
            iteration=int(r["iteration"]),
            indices=tuple(r["best_path"]),
            cells=tuple(r["best_cells"]),
            score=-math.inf if r["log_rank"] is None else float(r["log_rank"]),
            metric=r["metric"],
        )
        for r in (scored + unscored)[:n]
    ]


def log_rank_agreement(alphas: Sequence[Any], max_paths: int = 100_000) -> float | None:
    """How well the repeats of one iteration agree: the mean pairwise Spearman's rho between the log FaDE
    ranks (sum over rows of log alpha) that each repeat's softmaxed ``alphas`` (depth x window) give every
    path (a fixed sample of ``max_paths`` paths in larger spaces). None with fewer than two repeats."""
    if len(alphas) < 2:
        return None
    from scipy import stats  # lazy: only finished iterations need it

    logs = [np.log(np.clip(np.asarray(a, dtype=np.float64), 1e-300, None)) for a in alphas]
    depth, window = logs[0].shape
    if window**depth <= max_paths:
        ranks = []
        for log_alpha in logs:
            total = np.zeros(())
            for row in log_alpha:
                total = np.add.outer(total, row)
            ranks.append(total.reshape(-1))
    else:
        paths = np.random.default_rng(0).integers(window, size=(max_paths, depth))  # (P, depth)
        ranks = [log_alpha[np.arange(depth), paths].sum(axis=1) for log_alpha in logs]
    # a constant ranking (e.g. uniform alpha) has no order to agree on: left out rather than NaN
    varied = [r for r in ranks if np.ptp(r) > 0]
    rhos = [stats.spearmanr(a, b).statistic for i, a in enumerate(varied) for b in varied[i + 1 :]]
    finite = [float(r) for r in rhos if np.isfinite(r)]
    return float(np.mean(finite)) if finite else None


def describe_record(record: Mapping[str, Any], iterations: int, repeats: int, metric: str) -> str:
    """One progress line for an iteration record: iteration i/N, metric, best path and its score."""
    parts = [f"iteration {int(record['iteration']) + 1}/{iterations}"]
    if record.get("metric") is not None:
        parts.append(f"{metric} {record['metric']:.3f} ({record['repeats_ok']}/{repeats} ok)")
    else:
        parts.append(f"no {metric} ({record['repeats_ok']}/{repeats} ok)")
    if record.get("best_path") is not None:
        score = record.get("log_rank")
        parts.append(f"best path {record['best_path']}" + ("" if score is None else f" log-rank {score:.3f}"))
    return f"{parts[0]}: {', '.join(parts[1:])}"
