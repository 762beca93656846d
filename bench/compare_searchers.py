#!/usr/bin/env python
"""Does a searcher beat random search? Final stand-alone test accuracy per searcher, seeds and data sets
side by side, at an equal budget of trained epochs, with one-sided tests against random (one local Ray).

The full comparison (5 seeds x 3 searchers x 2 data sets = 30 searches; not timed yet: 3 seeds x 3
searchers on digits at these sizes took about 15 min on 2 cores, and the CIFAR-10 images are larger):

    python bench/compare_searchers.py --datasets digits cifar10 --data-dir ~/data/cifar-10-batches-py \\
        --seeds 0 1 2 3 4 --depth 4 --window 6 --iterations 4 --repeats 2 --trial-epochs 2 --final-epochs 15

A tiny smoke run (a minute):

    python bench/compare_searchers.py --datasets synthetic --seeds 0 1 --searchers fade random \\
        --depth 2 --window 2 --iterations 1 --repeats 1 --trial-epochs 1 --final-epochs 1 --out /tmp/compare

Each (data set, seed, searcher) is one ``hiernas.tune.search.run_search``: the main job of
``scripts/fade_search.py`` (``--iterations`` batches of ``--repeats`` trials on ``--depth`` rows of
``--window`` cells), then ``--final-epochs`` of stand-alone training of the path it chose, tested on the
held-out test split; that test accuracy is what is compared.

Budget, counted in trained epochs (one epoch = one pass over the weight-training split): every trial of
every searcher trains ``--trial-epochs`` epochs, so a search costs ``iterations x repeats x trial_epochs``
epochs, plus the race of its top ``--race-paths`` paths (at most ``--race-epochs`` each) and
``--final-epochs`` for its chosen path (the same for all). DARTS-PD evolution spends
``fair_epochs`` (its searcher's setting, 1) of each trial's epochs on strict-fair path-wise training, so
its trials train the hyper-architecture for ``trial_epochs - fair_epochs`` epochs. Scoring paths on the
validation split (evolution's ``eval_paths``) trains nothing and is not counted. Wall times are recorded too.

Writes to ``--out``: ``<dataset>/<searcher>-seed<seed>/`` (the search's own files; its ``best.json`` marks
it done), ``runs.csv`` (one row per search), ``summary.json`` (per data set and searcher: ``n``, ``mean``,
``std`` (sample SD), median, min, max, ``minus_random``, ``p_value_vs_random``: one-sided Welch t-test and
Mann-Whitney U that the searcher's accuracies exceed random's, and ``seeds_for_power_80``: the seeds per searcher
a one-sided test at level 0.05 would need to detect the observed gap with power 0.8, normal approximation;
None when not ahead of random) and ``accuracies.png`` (box and strip plot).
Resumable: a search whose ``best.json`` exists is read back, not run again; one interrupted mid-way is
resumed from its Tune state; ``comparison.json`` pins the budget settings of ``--out``.
"""

from __future__ import annotations

import argparse
import os
import statistics
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from hiernas.cli.common import OneLineParser, fail, non_negative_int, positive_int, run_main
from hiernas.config import DataConfig
from hiernas.fade.config import CHOICE_MODES, RANK_SOURCE_NAMES, ModelConfig, TrainConfig, TrialConfig, rank_scoring
from hiernas.results import read_json, save_figure, write_csv, write_json
from hiernas.stats import describe, mann_whitney_greater, seeds_for_power, welch
from hiernas.tune.runtime import init_ray
from hiernas.tune.search import SearchSettings, build_searcher, run_search
from searchers import SEARCHERS
from searchers.fade import ESTIMATORS

BUDGET_KEYS = ("depth", "window", "iterations", "repeats", "trial_epochs", "final_epochs", "final_seeds",
               "race_paths", "race_epochs", "batch_size", "choice_mode", "fade_step", "rank",
               "rank_paths")  # one budget per results directory
# what a comparison.json written before a key existed ran with
OLDER_BUDGET = {"final_seeds": 1, "race_paths": 4, "race_epochs": 6}


def trial_config(args: argparse.Namespace, dataset: str, seed: int, hyper_epochs: int) -> TrialConfig:
    """The trial settings of one search (the data directory goes to the data sets that read one)."""
    data_dir = os.path.abspath(args.data_dir) if args.data_dir and dataset == "cifar10" else None
    return TrialConfig(
        seed=seed,
        data=DataConfig(dataset=dataset, data_dir=data_dir, batch_size=args.batch_size),
        model=ModelConfig(depth=args.depth, window=args.window, choice_mode=args.choice_mode),
        train=TrainConfig(epochs=hyper_epochs, **rank_scoring(args.rank, args.rank_paths)),
    )


def search_settings(args: argparse.Namespace, searcher: str) -> SearchSettings:
    """The outer search's settings: the same for every searcher except its name."""
    return SearchSettings(searcher=searcher, iterations=args.iterations, repeats=args.repeats,
                          fade_step=args.fade_step, rank=args.rank, final_epochs=args.final_epochs,
                          final_seeds=args.final_seeds, race_paths=args.race_paths,
                          race_epochs=args.race_epochs)


def hyper_epochs(args: argparse.Namespace, searcher: str) -> int:
    """Hyper-architecture epochs per trial: ``--trial-epochs`` less the searcher's own fair epochs."""
    built = build_searcher(search_settings(args, searcher), trial_config(args, "synthetic", 0, 1))
    epochs: int = args.trial_epochs - int(getattr(built, "fair_epochs", 0))
    if epochs < 1:
        raise SystemExit(f"--trial-epochs {args.trial_epochs} leaves {searcher} no hyper-architecture epoch")
    return epochs


def one_search(args: argparse.Namespace, dataset: str, searcher: str, seed: int, epochs: int) -> dict[str, Any]:
    """Run, resume or read back one search; returns its row for runs.csv."""
    results = os.path.join(args.out, dataset, f"{searcher}-seed{seed}")
    best_file, marker = os.path.join(results, "best.json"), os.path.join(results, "search_config.json")
    read_back = os.path.exists(best_file)
    if read_back:
        best, wall = read_json(best_file), read_json(os.path.join(results, "search.json"))["wall_time_s"]
    else:
        if os.path.exists(marker) and not os.path.isdir(os.path.join(results, "ray", "search")):
            os.remove(marker)  # stopped before Tune saved anything: start afresh
        resume = os.path.exists(marker)
        out = run_search(search_settings(args, searcher), trial_config(args, dataset, seed, epochs), results,
                         resume=resume)
        best, wall = out["best"], out["wall_time_s"]
    return {
        "dataset": dataset,
        "searcher": searcher,
        "seed": seed,
        "test_acc": best.get("test_acc"),
        "best_iteration": best.get("iteration"),
        "num_params": best.get("num_params"),
        "trained_epochs": args.iterations * args.repeats * args.trial_epochs,
        "hyper_epochs_per_trial": epochs,
        "wall_time_s": round(float(wall), 1),
        "read_back": read_back,
    }


def versus_random(accs: list[float], random: list[float]) -> dict[str, float | None]:
    """One-sided p-values that ``accs`` exceed ``random``: Welch's t-test and the Mann-Whitney U test."""
    return {"welch_t": welch(accs, random)["p_greater"], "mann_whitney_u": mann_whitney_greater(accs, random)}


def summarise(rows: list[dict[str, Any]], searchers: list[str]) -> dict[str, Any]:
    """Per searcher: n, mean, sample SD, median, min, max (``hiernas.stats.describe``; mean None without
    runs), mean wall time, gap to random and p-values against it."""
    def accuracies(name: str) -> list[float]:
        return [float(r["test_acc"]) for r in rows if r["searcher"] == name and r["test_acc"] is not None]

    random = accuracies("random")
    summary: dict[str, Any] = {}
    for name in searchers:
        accs = accuracies(name)
        walls = [float(r["wall_time_s"]) for r in rows if r["searcher"] == name]
        mean = statistics.fmean(accs) if accs else None
        summary[name] = {
            **describe(accs),
            "mean": mean,  # None, not NaN, without runs: strict JSON
            "mean_wall_time_s": statistics.fmean(walls) if walls else None,
            "minus_random": None if mean is None or not random else mean - statistics.fmean(random),
            "p_value_vs_random": None if name == "random" or not random else versus_random(accs, random),
            # seeds per searcher a one-sided test would need at this gap and spread (power 0.8, level 0.05)
            "seeds_for_power_80": None if name == "random" else seeds_for_power(accs, random),
        }
    return summary


def plot(path: str, rows: list[dict[str, Any]], summaries: dict[str, Any], searchers: list[str]) -> None:
    """One panel per data set: a box per searcher over its final test accuracies, the runs as points."""
    fig = Figure(figsize=(1.6 + 1.4 * len(searchers), 4.0 * len(summaries)), layout="constrained")
    axes = fig.subplots(len(summaries), 1, squeeze=False)[:, 0]
    jitter = np.random.default_rng(0)
    for ax, (dataset, summary) in zip(axes, summaries.items(), strict=True):
        data = [[float(r["test_acc"]) for r in rows if r["dataset"] == dataset and r["searcher"] == name
                 and r["test_acc"] is not None] for name in searchers]
        ax.boxplot(data, widths=0.5, showfliers=False)
        for i, values in enumerate(data, start=1):
            ax.scatter(i + jitter.uniform(-0.12, 0.12, len(values)), values, s=18, alpha=0.8, zorder=3)
        labels = []
        for name in searchers:
            p = (summary[name]["p_value_vs_random"] or {}).get("welch_t")
            labels.append(f"{name}\nn={summary[name]['n']}" + ("" if p is None else f"\np={p:.3f}"))
        ax.set_xticks(range(1, len(searchers) + 1), labels)
        ax.set_ylabel("final test accuracy")
        ax.set_title(f"{dataset} (p: one-sided Welch t vs random)")
        ax.grid(alpha=0.3, axis="y")
    save_figure(fig, path)


def check_budget(args: argparse.Namespace) -> None:
    """Refuse an ``--out`` that holds runs of another budget; record this one."""
    path, budget = os.path.join(args.out, "comparison.json"), {k: getattr(args, k) for k in BUDGET_KEYS}
    if os.path.exists(path) and {**OLDER_BUDGET, **read_json(path)} != budget:
        raise SystemExit(f"{args.out} holds a comparison with other settings ({read_json(path)}); "
                         f"choose another --out")
    os.makedirs(args.out, exist_ok=True)
    write_json(path, budget)


def parse_args() -> argparse.Namespace:
    """The flags; every size of the full run is one of them."""
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits"], choices=["digits", "cifar10", "synthetic"])
    parser.add_argument("--data-dir", default=None, help="CIFAR-10 python batches (cifar10 only)")
    parser.add_argument("--searchers", nargs="+", default=list(SEARCHERS), choices=SEARCHERS)
    parser.add_argument("--seeds", nargs="+", type=non_negative_int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--depth", type=positive_int, default=4)
    parser.add_argument("--window", type=positive_int, default=6)
    parser.add_argument("--iterations", type=positive_int, default=4, help="batches of hyper-architectures per search")
    parser.add_argument("--repeats", type=positive_int, default=2, help="trials per iteration")
    parser.add_argument("--trial-epochs", type=positive_int, default=2,
                        help="trained epochs per trial (the budget unit)")
    parser.add_argument("--final-epochs", type=positive_int, default=15, help="stand-alone epochs of the chosen path")
    parser.add_argument("--final-seeds", type=positive_int, default=1,
                        help="final trainings of the chosen path (seeds apart, one split): its accuracy is their mean")
    parser.add_argument("--race-paths", type=non_negative_int, default=4,
                        help="top paths over all iterations raced stand-alone under ASHA before the final "
                             "training (0: the searcher's own best)")
    parser.add_argument("--race-epochs", type=positive_int, default=6,
                        help="stand-alone epochs of a path that survives every rung of the race")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--choice-mode", default="softmax", choices=CHOICE_MODES)
    parser.add_argument("--fade-step", default="least_squares", choices=ESTIMATORS,
                        help="FaDE's pseudo-gradient estimator")
    parser.add_argument("--rank", default="alpha", choices=RANK_SOURCE_NAMES,
                        help="what ranks the cells for every searcher: alpha, path-wise validation accuracy, or "
                             "the perturbation (accuracy drop or loss rise when a cell leaves its row's mixture)")
    parser.add_argument("--rank-paths", type=positive_int, default=64, help="--rank pathwise: paths each trial scores")
    parser.add_argument("--cpus", type=positive_int, default=2, help="CPUs of the local Ray")
    parser.add_argument("--out", default="results/compare_searchers")
    args = parser.parse_args()
    if len(args.seeds) < 2 or len(set(args.seeds)) != len(args.seeds):
        parser.error("give at least 2 distinct seeds: a spread needs more than one run")
    if "random" not in args.searchers:
        parser.error("the searchers must include random: every p-value is against it")
    return args


def main() -> None:
    args = parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:  # impossible sizes fail here in one line, before anything is written or Ray starts
        epochs = {name: hyper_epochs(args, name) for name in args.searchers}
    except ValueError as error:
        fail(str(error))
    check_budget(args)
    init_ray(num_cpus=args.cpus, dashboard=False)
    rows: list[dict[str, Any]] = []
    total = len(args.datasets) * len(args.seeds) * len(args.searchers)
    for dataset in args.datasets:
        for seed in args.seeds:  # seeds outside searchers: a partial run already compares every searcher
            for searcher in args.searchers:
                row = one_search(args, dataset, searcher, seed, epochs[searcher])
                rows.append(row)
                write_csv(os.path.join(args.out, "runs.csv"), rows)
                print(f"[{len(rows)}/{total}] {dataset} {searcher} seed {seed}: "
                      f"test acc {number(row['test_acc'], '.3f')}, "
                      f"{row['trained_epochs']} trained epochs + {args.final_epochs} final, "
                      f"{row['wall_time_s']} s{' (read back)' if row['read_back'] else ''}", flush=True)
    summaries = {d: summarise([r for r in rows if r["dataset"] == d], args.searchers) for d in args.datasets}
    write_json(os.path.join(args.out, "summary.json"), {"settings": vars(args), "runs": rows, "summary": summaries})
    plot(os.path.join(args.out, "accuracies.png"), rows, summaries, args.searchers)
    print(f"\n{len(args.seeds)} seeds, depth {args.depth}, window {args.window}, {args.iterations} iterations x "
          f"{args.repeats} repeats x {args.trial_epochs} trained epochs, final {args.final_epochs} epochs")
    for dataset, summary in summaries.items():
        for name in args.searchers:
            s = summary[name]
            p = s["p_value_vs_random"] or {}
            needed = s["seeds_for_power_80"]
            tests = "" if name == "random" else (
                f", vs random: p {number(p.get('welch_t'))} (Welch t), {number(p.get('mann_whitney_u'))} (MWU); "
                + ("not ahead" if needed is None else f"{needed} seeds each would detect this gap (power 0.8)"))
            print(f"{dataset:9s} {name:9s} test acc {number(s['mean'])} +- {number(s['std'])} (n {s['n']}), "
                  f"mean wall {number(s['mean_wall_time_s'], '.0f')} s{tests}")


def number(value: float | None, spec: str = ".4f") -> str:
    """``value`` formatted, or n/a."""
    return "n/a" if value is None else format(value, spec)


if __name__ == "__main__":
    run_main(lambda _argv: main())  # Ctrl-C: one line and exit code 130; a rerun resumes
