"""The report of ``bench/nb201_search.py``: per searcher, budget and noise level the best table accuracy
found (mean, SD, regret), our best searcher against REA (Welch's t-test), the console summary and the plot
of the best-so-far curves. No Ray: the runs are done when these are called."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from hiernas.results import save_figure
from hiernas.stats import describe, welch

HYPER = ("fade", "evolution", "random")  # our searchers: hyper-architecture trials of w cells
DISCRETE = ("rea", "optuna", "tune-random")  # one cell per trial, exact table accuracies


def summarise_runs(rows: Sequence[dict[str, Any]], searchers: Sequence[str], budgets: Sequence[int],
                   levels: Sequence[float], optimum: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per searcher, budget and noise level the spread of the best accuracy found; and, per budget and
    level, our best searcher against REA."""
    summary: dict[str, Any] = {}
    for name in searchers:
        for budget in budgets:
            for level in levels:
                values = [r["best_acc"] for r in rows if r["searcher"] == name and r["budget"] == budget
                          and (name in DISCRETE or r["noise"] == level)]
                used = sorted({r["evaluations"] for r in rows if r["searcher"] == name and r["budget"] == budget})
                entry = describe(values, optimum) | {"evaluations": used, "noise_independent": name in DISCRETE}
                summary.setdefault(name, {}).setdefault(str(budget), {})[f"{level:g}"] = entry
    comparison: dict[str, Any] = {}
    ours = [name for name in HYPER if name in searchers]
    if ours and "rea" in searchers:
        for budget in budgets:
            for level in levels:
                key_b, key_n = str(budget), f"{level:g}"
                best = max(ours, key=lambda n: summary[n][key_b][key_n]["mean"])
                pick = [r["best_acc"] for r in rows if r["searcher"] == best and r["budget"] == budget
                        and r["noise"] == level]
                rea = [r["best_acc"] for r in rows if r["searcher"] == "rea" and r["budget"] == budget]
                comparison.setdefault(key_b, {})[key_n] = {
                    "ours": best, "ours_mean": statistics.fmean(pick), "rea_mean": statistics.fmean(rea),
                    "difference": statistics.fmean(pick) - statistics.fmean(rea),
                    "target_met": statistics.fmean(pick) >= statistics.fmean(rea), **welch(pick, rea)}
    return summary, comparison


def plot(path: str, curves: dict[tuple[str, float | None], list[tuple[list[int], list[float]]]],
         levels: Sequence[float], searchers: Sequence[str], budgets: Sequence[int], optimum: float) -> None:
    """Best so far vs evaluations, mean +- std over seeds, one panel per noise level."""
    fig = Figure(figsize=(6.5 * min(len(levels), 3), 4.2 * math.ceil(len(levels) / 3)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(math.ceil(len(levels) / 3), min(len(levels), 3), squeeze=False)).ravel()
    colours = {name: f"C{i}" for i, name in enumerate(searchers)}
    for ax, level in zip(axes, levels, strict=False):
        for name in searchers:
            runs = curves.get((name, None if name in DISCRETE else level), [])
            if not runs:
                continue
            x = runs[0][0]
            y = np.array([r[1] for r in runs])
            mean, std = y.mean(axis=0), y.std(axis=0, ddof=1) if len(y) > 1 else np.zeros(y.shape[1])
            style = "--" if name in DISCRETE else "-"
            ax.plot(x, mean, style, color=colours[name], label=f"{name} (n={len(y)})")
            ax.fill_between(x, mean - std, mean + std, color=colours[name], alpha=0.12)
        ax.axhline(optimum, color="k", lw=0.8, ls=":", label="table optimum")
        for b in budgets:
            ax.axvline(b, color="grey", lw=0.6, ls=":")
        ax.set_title(f"noise {level:g} (our searchers; discrete ones exact)")
        ax.set_xlabel("evaluated architectures (a hyper-trial of w cells counts w)")
        ax.set_ylabel("table accuracy of the returned architecture (%)")
        ax.set_ylim(max(optimum - 6, 0), optimum + 0.4)
        ax.grid(alpha=0.3)
    for ax in axes[len(levels):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8, loc="lower right")
    save_figure(fig, path)



def print_summary(seeds: int, searchers: Sequence[str], budgets: Sequence[int], summary: dict[str, Any],
                  comparison: dict[str, Any], tune_cost: dict[str, Any], levels: Sequence[float],
                  optimum: float) -> None:
    """The console summary: per budget and level each searcher's best accuracy, then ours against REA."""
    print(f"\nbest found table accuracy (%), mean +- std over {seeds} seeds, regret to the optimum "
          f"{optimum:.2f}; discrete searchers (exact accuracies) are the same at every level")
    for budget in budgets:
        for level in levels:
            key_b, key_n = str(budget), f"{level:g}"
            print(f"budget {budget}, noise {level:g}:")
            for name in searchers:
                if name in DISCRETE and level != levels[0]:
                    continue
                s = summary[name][key_b][key_n]
                std = "n/a" if s["std"] is None else f"{s['std']:.2f}"
                print(f"  {name:12s} {s['mean']:.2f} +- {std}  regret {s['regret_mean']:.2f}  n {s['n']}  "
                      f"optimum hit {s['hit_optimum']}/{s['n']}")
            c = comparison.get(key_b, {}).get(key_n)
            if c is not None:
                p2 = "n/a" if c["p_two_sided"] is None else f"{c['p_two_sided']:.3g}"
                p1 = "n/a" if c["p_greater"] is None else f"{c['p_greater']:.3g}"
                print(f"  ours best ({c['ours']}) - rea: {c['difference']:+.2f} points, Welch p {p2} (two-sided), "
                      f"{p1} (ours > rea); target ours >= rea: {'met' if c['target_met'] else 'not met'}")
    print("Tune cost: " + ", ".join(f"{n} {c['trials_per_s']:.1f} trials/s ({c['wall_s_per_run']:.1f} s per run "
                                    f"of {c['trials_per_run']:.0f})" for n, c in tune_cost.items()))
