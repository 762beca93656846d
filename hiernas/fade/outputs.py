"""The result files of an outer search that a person reads: ``search.json`` (settings and every
iteration's record), ``best.json``, the anchor trajectories of FaDE (``trajectories.csv`` and
``trajectories.png``) and ``progress.png``; all written atomically."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from hiernas.results import plot_panels, plot_trajectories, write_csv, write_json


def write_search_outputs(
    results_dir: str,
    summary: dict[str, Any],
    best: dict[str, Any],
    history: list[dict[str, Any]],
    feature_names: Sequence[str],
) -> None:
    """search.json, best.json, the anchor trajectories (FaDE: CSV and PNG) and progress.png."""
    write_json(os.path.join(results_dir, "search.json"), summary)
    write_json(os.path.join(results_dir, "best.json"), best)
    rows = trajectory_rows(history)
    if rows:
        write_csv(os.path.join(results_dir, "trajectories.csv"), rows)
        trajectories: dict[int, list[list[float]]] = {}
        for r in rows:
            trajectories.setdefault(int(r["row"]), []).append([r[f"f{k}"] for k in range(len(feature_names))])
        names = [f"f{k}: {name}" for k, name in enumerate(feature_names)]
        plot_trajectories(
            os.path.join(results_dir, "trajectories.png"), trajectories, names, "iteration (last point: final anchor)"
        )
    panels: dict[str, list[float | None]] = {
        "hyper val_acc": [r.get("metric") for r in history],
        "best log-rank": [r.get("log_rank") for r in history],
    }
    if any(r.get("best_val_acc") is not None for r in history):  # evolution: path-wise, shared weights
        panels["best path val_acc"] = [r.get("best_val_acc") for r in history]
    plot_panels(os.path.join(results_dir, "progress.png"), panels, "iteration", "search progress")


def trajectory_rows(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (iteration, row): the anchor an iteration started from; a last ``iteration = N`` row
    holds where the search ended (the last record's ``anchors_after``). Empty without anchors."""
    rows: list[dict[str, Any]] = []
    points = [(int(r["iteration"]), r.get("anchors_before")) for r in history]
    if history and history[-1].get("anchors_after") is not None:
        points.append((int(history[-1]["iteration"]) + 1, history[-1]["anchors_after"]))
    for iteration, anchors in points:
        if anchors is None:
            continue
        for row, point in enumerate(anchors):
            rows.append({"iteration": iteration, "row": row, **{f"f{k}": float(v) for k, v in enumerate(point)}})
    return rows
