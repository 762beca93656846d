#!/usr/bin/env python
"""Does the FaDE search improve over iterations? The validation of FaDE section 3.2, in one run.

    python bench/fade_trajectory.py                          # 8 iterations, about 8 minutes on 2 cores
    python bench/fade_trajectory.py --iterations 20 --epochs 5 --out results/trajectory20

A FaDE search (the main job's settings, no final training) records the anchors M_i^(t) of every row at
every iteration. As in the paper, the architecture "generated from the anchors" (per row the DAG nearest
to M_i^(t)) is trained from scratch for every t (``--seeds`` seeds each, parallel Tune trials), and a
linear regression of its test accuracy on t tells whether the search improves: a positive slope with a
small p-value. The paper reports Pearson r = 0.16, "barely significant", over 100 iterations.

Writes ``trajectory.csv`` (t, anchor cells, test accuracy per seed and mean), ``trajectory.json``
(settings, regression) and ``trajectory.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np
from ray import tune
from scipy import stats

from hiernas.config import DataConfig
from hiernas.fade.config import ModelConfig, TrainConfig, TrialConfig
from hiernas.fade.standalone import standalone_config
from hiernas.results import plot_series, read_json, write_csv, write_json
from hiernas.tune.runtime import init_ray, run_grid
from hiernas.tune.search import SearchSettings, run_search
from hiernas.tune.trainables import standalone_trainable
from spaces.dag import DagSpace


def anchor_architectures(history: list[dict[str, Any]], space: DagSpace) -> list[list[Any]]:
    """Per t = 0..N the cells nearest to the anchors (anchors before each iteration, then after the last)."""
    points = [record["anchors_before"] for record in history] + [history[-1]["anchors_after"]]
    return [[space.encode(space.nearest(np.asarray(p, dtype=np.float64))) for p in rows] for rows in points]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=2, help="hyper-architecture epochs per iteration")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--window", type=int, default=6)
    parser.add_argument("--step", type=float, default=1.0, help="pseudo-gradient step size lambda")
    parser.add_argument("--gamma", type=float, default=0.1)
    parser.add_argument("--standalone-epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=2, help="stand-alone trainings per anchor architecture")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/fade_trajectory")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    init_ray(num_cpus=2, dashboard=False)
    base = TrialConfig(
        seed=args.seed,
        data=DataConfig(dataset="digits", batch_size=64),
        model=ModelConfig(depth=args.depth, window=args.window, choice_mode="softmax"),
        train=TrainConfig(epochs=args.epochs),
    )
    settings = SearchSettings(searcher="fade", iterations=args.iterations, repeats=args.repeats, gamma=args.gamma,
                              step=args.step, final_epochs=0, race_paths=0)
    search_dir = os.path.join(args.out, "search")
    run_search(settings, base, search_dir)
    history = read_json(os.path.join(search_dir, "search.json"))["iterations"]
    architectures = anchor_architectures(history, DagSpace(settings.max_vertices))

    distinct = list(dict.fromkeys(map(repr, architectures)))  # a repeated anchor architecture trains once
    by_key = {repr(a): a for a in architectures}
    cells_json = [standalone_config(base, by_key[k]).to_dict()["cells"] for k in distinct]
    seeds = [args.seed + 1000 + s for s in range(args.seeds)]
    template = standalone_config(base, architectures[0], args.standalone_epochs).to_dict()
    outcomes = run_grid(
        standalone_trainable, template | {"cells": tune.grid_search(cells_json), "seed": tune.grid_search(seeds)},
        name="anchors", storage_path=os.path.join(os.path.abspath(args.out), "ray"),
        num_trials=len(cells_json) * len(seeds), max_concurrent=2,
    )
    rows = []
    for t, cells in enumerate(architectures):
        wanted = standalone_config(base, cells).to_dict()["cells"]
        accs = [o.metrics["test_acc"] for o in outcomes if o.config["cells"] == wanted]
        rows.append({"t": t, "cells": repr(cells), "test_acc_mean": float(np.mean(accs)),
                     **{f"test_acc_seed{i}": a for i, a in enumerate(accs)}})
    ts = [r["t"] for r in rows]
    means = [r["test_acc_mean"] for r in rows]
    fit = stats.linregress(ts, means)
    regression = {"slope_per_iteration": float(fit.slope), "pearson_r": float(fit.rvalue), "p_value": float(fit.pvalue)}
    write_csv(os.path.join(args.out, "trajectory.csv"), rows)
    write_json(os.path.join(args.out, "trajectory.json"), {"settings": vars(args), "regression": regression,
                                                           "points": rows})
    plot_series(os.path.join(args.out, "trajectory.png"),
                {"anchor architecture, test acc": means,
                 "linear fit": [float(fit.intercept + fit.slope * t) for t in ts]},
                "anchor index t + 1", "stand-alone test accuracy", "FaDE: architecture at the anchors over iterations")
    print(f"\nanchor architecture test accuracy by iteration: {', '.join(f'{m:.3f}' for m in means)}")
    print(f"linear regression on t: slope {fit.slope:+.4f} per iteration, Pearson r {fit.rvalue:+.2f}, "
          f"p {fit.pvalue:.3f} ({len(distinct)} distinct architectures, {len(seeds)} seeds each)")


if __name__ == "__main__":
    main()
