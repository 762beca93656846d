"""A plain-Python stand-in for ``hyper_trainable``: metrics computed from the cells it is given.

A cell's score is its number of vertices, so the cell with the most vertices of a row wins: ``alpha`` is a
row-wise softmax of the scores, ``val_acc`` grows with the scores of the best path, ``top_paths`` is that
path, and with ``train.prune_k`` the DARTS-PD fields are reported for the top paths of the pruned rows.
"""

from __future__ import annotations

import itertools
import math
from typing import Any


def cell_score(cell: dict[str, Any]) -> float:
    """The quality the stub assigns a cell: its vertex count."""
    return float(cell["n"])


def stub_metrics(config: dict[str, Any]) -> dict[str, Any]:
    """The last report of a stub trial for ``config`` (deterministic in the cells, jittered by the seed)."""
    rows = config["cells"]
    jitter = (config["seed"] % 7) * 1e-3
    alpha, top_path, log_rank = [], [], 0.0
    for row in rows:
        scores = [cell_score(cell) for cell in row]
        weights = [math.exp(2.0 * (s - max(scores))) for s in scores]
        total = sum(weights)
        probs = [w / total for w in weights]
        alpha.append(probs)
        best = max(range(len(row)), key=lambda j: (probs[j], -j))
        top_path.append(best)
        log_rank += math.log(probs[best])
    mean_score = sum(cell_score(row[j]) for row, j in zip(rows, top_path, strict=True)) / len(rows)
    metrics: dict[str, Any] = {
        "alpha": alpha,
        "val_acc": mean_score / 10.0 + jitter,
        "top_paths": [top_path],
        "top_log_ranks": [log_rank],
        "final": True,
    }
    train = config.get("train") or {}
    k = int(train.get("prune_k", 0))
    if k > 0:
        kept = [sorted(range(len(p)), key=lambda j: (-p[j], j))[:k] for p in alpha]
        paths = [list(p) for p in itertools.product(*kept)][: int(train.get("eval_paths", 1))]
        metrics["kept"] = kept
        metrics["path_indices"] = paths
        metrics["path_val_acc"] = [
            sum(cell_score(rows[i][j]) for i, j in enumerate(p)) / (10.0 * len(rows)) + jitter for p in paths
        ]
    return metrics


def stub_trainable(config: dict[str, Any]) -> None:
    """Ray Tune function trainable reporting ``stub_metrics`` once (no torch)."""
    from ray import tune

    tune.report(stub_metrics(config))


def drive(searcher: Any, metrics: Any = stub_metrics, prefix: str = "t") -> list[dict[str, Any]]:
    """Run ``searcher`` to the end without Ray: take each batch, complete it, repeat; returns all configs."""
    from ray.tune.search import Searcher

    configs: list[dict[str, Any]] = []
    counter = itertools.count()
    while True:
        batch = []
        while True:
            trial_id = f"{prefix}{next(counter)}"
            config = searcher.suggest(trial_id)
            if config is None or config == Searcher.FINISHED:
                break
            batch.append((trial_id, config))
        if config == Searcher.FINISHED:
            return configs
        assert batch, "a searcher waiting with no trial out would stall Tune"
        for trial_id, cfg in batch:
            configs.append(cfg)
            searcher.on_trial_complete(trial_id=trial_id, result=metrics(cfg), error=False)


def failing_trainable(config: dict[str, Any]) -> None:
    """A trainable whose every trial fails (the searcher sees ``result=None, error=True``)."""
    raise RuntimeError(f"stub failure for seed {config['seed']}")
