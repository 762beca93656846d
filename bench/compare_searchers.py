#!/usr/bin/env python
"""Final stand-alone test accuracy of FaDE and of the DARTS-PD evolutionary searcher against random search
at equal budget, mean and spread over seeds, measured side by side in one run (one local Ray).

    python bench/compare_searchers.py                       # 3 seeds x 3 searchers, about 15 min on 2 cores
    python bench/compare_searchers.py --seeds 0 1 2 3 4 --iterations 6 --out results/compare6

Each (searcher, seed) is the main job ``scripts/fade_search.py`` with the same flags: the same depth,
window, iterations, repeats and hyper epochs per iteration, then ``--final-epochs`` of stand-alone
training of the best path found, tested on the held-out test split. The evolutionary searcher's trials
also run its DARTS-PD path stages (one strict-fair epoch, 8 scored paths): that extra work is part of the
method, and its wall time is printed next to the accuracy so the budgets can be compared honestly.

Writes ``runs.csv`` (one row per search) and ``summary.json`` to ``--out``; a (searcher, seed) whose
directory already holds a ``best.json`` is read back instead of run again, so an interrupted comparison
continues where it stopped.
"""

from __future__ import annotations

import argparse
import os
import statistics
from typing import Any

from hiernas.config import DataConfig
from hiernas.fade.config import ModelConfig, TrainConfig, TrialConfig
from hiernas.results import read_json, write_csv, write_json
from hiernas.tune.runtime import init_ray
from hiernas.tune.search import SearchSettings, run_search
from searchers import SEARCHERS


def one_search(args: argparse.Namespace, searcher: str, seed: int) -> dict[str, Any]:
    """Run (or read back) one search; returns its row for runs.csv."""
    results = os.path.join(args.out, f"{searcher}-seed{seed}")
    best_path = os.path.join(results, "best.json")
    if os.path.exists(best_path):
        best, summary = read_json(best_path), read_json(os.path.join(results, "search.json"))
        wall = summary["wall_time_s"]
    else:
        base = TrialConfig(
            seed=seed,
            data=DataConfig(dataset=args.dataset, data_dir=args.data_dir, batch_size=64),
            model=ModelConfig(depth=args.depth, window=args.window, choice_mode="softmax"),
            train=TrainConfig(epochs=args.epochs),
        )
        settings = SearchSettings(
            searcher=searcher, iterations=args.iterations, repeats=args.repeats, final_epochs=args.final_epochs,
        )
        out = run_search(settings, base, results)
        best, wall = out["best"], out["wall_time_s"]
    return {
        "searcher": searcher,
        "seed": seed,
        "test_acc": best.get("test_acc"),
        "best_iteration": best.get("iteration"),
        "num_params": best.get("num_params"),
        "wall_time_s": round(float(wall), 1),
    }


def summarise(rows: list[dict[str, Any]], searchers: list[str]) -> dict[str, Any]:
    """Mean, standard deviation, min and max of the test accuracy per searcher, and the gap to random."""
    summary: dict[str, Any] = {}
    for name in searchers:
        accs = [float(r["test_acc"]) for r in rows if r["searcher"] == name and r["test_acc"] is not None]
        walls = [float(r["wall_time_s"]) for r in rows if r["searcher"] == name]
        summary[name] = {
            "runs": len(accs),
            "mean": statistics.fmean(accs) if accs else None,
            "std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
            "min": min(accs, default=None),
            "max": max(accs, default=None),
            "mean_wall_time_s": statistics.fmean(walls) if walls else None,
        }
    reference = summary.get("random", {}).get("mean")
    for name in searchers:
        mean = summary[name]["mean"]
        summary[name]["minus_random"] = None if mean is None or reference is None else mean - reference
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--searchers", nargs="+", default=list(SEARCHERS), choices=SEARCHERS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--window", type=int, default=6)
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2, help="hyper-architecture epochs per iteration")
    parser.add_argument("--final-epochs", type=int, default=15)
    parser.add_argument("--dataset", default="digits", choices=["digits", "cifar10", "synthetic"])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default="results/compare_searchers")
    args = parser.parse_args()
    if len(args.seeds) < 2:
        parser.error("give at least 2 seeds: a spread needs more than one run")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    init_ray(num_cpus=2, dashboard=False)
    rows = []
    for seed in args.seeds:  # seeds outermost: a partial run already compares every searcher
        for searcher in args.searchers:
            row = one_search(args, searcher, seed)
            rows.append(row)
            write_csv(os.path.join(args.out, "runs.csv"), rows)
            print(f"{searcher:9s} seed {seed}: test acc {row['test_acc']}, {row['wall_time_s']} s", flush=True)
    summary = summarise(rows, args.searchers)
    write_json(os.path.join(args.out, "summary.json"), {"settings": vars(args), "runs": rows, "summary": summary})
    print(f"\n{len(args.seeds)} seeds, depth {args.depth}, window {args.window}, {args.iterations} iterations x "
          f"{args.repeats} repeats x {args.epochs} epochs, final {args.final_epochs} epochs, {args.dataset}")
    for name in args.searchers:
        s = summary[name]
        gap = "" if s["minus_random"] is None or name == "random" else f"  vs random {s['minus_random']:+.4f}"
        print(f"{name:9s} test acc {s['mean']:.4f} +- {s['std']:.4f} (min {s['min']:.4f}, max {s['max']:.4f}), "
              f"mean wall {s['mean_wall_time_s']:.0f} s{gap}")


if __name__ == "__main__":
    main()
