#!/usr/bin/env python
"""Each cell-level method searched on the NAS-Bench-201 network, its derived cell looked up in the table.

    python bench/nb201_darts.py --table TABLE.csv --data-dir CIFAR10_DIR      # about 25 minutes on 2 cores

Every method of ``hiernas.darts.config.METHODS`` (DARTS first and second order, PC-DARTS, GDAS, DARTS-PD,
ProxylessNAS, PARSEC, P-DARTS, MergeNAS, DropNAS) runs as real Ray Tune trials (``darts_trainable``, one per
seed) in the NAS-Bench-201 space, with its paper's defaults scaled down only by the flags below (cells per
stage, channels, epochs, warm-up, steps per epoch, DARTS-PD's fair-training epochs), on CIFAR-10
(``--dataset cifar10 --data-dir``; any data set of ``hiernas.datasets`` works).
The derived cell of each seed is looked up in the benchmark table: that accuracy is the benchmark's own
200-epoch training of the full network, not ours. Printed and written next to the published numbers
(NAS-Bench-201 paper and the methods' own reports, CIFAR-10 test accuracy of the derived cell; none in our
sources for DARTS-PD, ProxylessNAS, PARSEC, P-DARTS, MergeNAS and DropNAS): the
looked-up accuracy (mean, std over seeds), the wall time per method, and the histogram of operations in
the derived cells, where a skip-connection collapse shows.

P-DARTS gets the same epochs as the others, split over its three stages (``--epochs // 3`` each, the
warm-up shortened to leave each stage at least one architecture epoch), and its stages' depths scaled so
that the last is ``--cells`` deep.

Writes to ``--out``: ``summary.json`` (per method), ``runs.csv`` (per seed) and ``operations.png``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from typing import Any

from hiernas.benchmark_table import load_table
from hiernas.cli.common import OneLineParser, add_data_flags, non_negative_int, positive_int
from hiernas.config import DataConfig
from hiernas.darts.config import METHODS, DartsConfig
from hiernas.errors import DataError
from hiernas.results import save_figure, write_csv, write_json
from spaces.nb201 import OPS, parse_arch

# CIFAR-10 test accuracy (%) of the cells the methods derive in the NAS-Bench-201 space, mean and std over
# search seeds, as published (the NAS-Bench-201 paper; the methods' own repositories). None: not published.
PUBLISHED: dict[str, tuple[float, float] | None] = {
    "darts": (54.30, 0.00),
    "darts2": (54.30, 0.00),
    "pcdarts": (93.41, 0.30),
    "gdas": (93.61, 0.09),
    "darts-pd": None,
    # not in our sources (the survey's numbers for these are CIFAR-10 errors in their own spaces, not NAS-Bench-201)
    "proxyless": None,
    "parsec": None,
    "pdarts": None,
    "mergenas": None,
    "dropnas": None,
}
TABLE_OPTIMUM_NOTE = "the table's best cell"


def build_parser() -> OneLineParser:
    p = OneLineParser(description="Cell-level methods on the NAS-Bench-201 network, looked up in the table")
    p.add_argument("--table", required=True, help="NAS-Bench-201 CSV: columns arch and one accuracy (percent)")
    p.add_argument("--column", default=None, help="the table's accuracy column, if it has several")
    add_data_flags(p, batch_size=64)
    p.set_defaults(dataset="cifar10")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods")
    p.add_argument("--seeds", type=positive_int, default=2, help="searches per method (seeds 0..N-1)")
    p.add_argument("--cells", type=positive_int, default=1, help="cells per stage (the benchmark: 5)")
    p.add_argument("--channels", type=positive_int, default=16, help="channels of the first stage (the benchmark: 16)")
    p.add_argument("--epochs", type=positive_int, default=4, help="search epochs (papers: 50)")
    p.add_argument("--warmup-epochs", type=non_negative_int, default=1,
                   help="epochs with alpha frozen, at most the method's default (PC-DARTS: 15)")
    p.add_argument("--steps-per-epoch", type=non_negative_int, default=0, help="> 0: cap on steps per epoch")
    p.add_argument("--fair-epochs", type=positive_int, default=3,
                   help="DARTS-PD: epochs of path-wise strict-fair training (paper: 600)")
    p.add_argument("--cpus", type=positive_int, default=2, help="CPUs for Ray (one per trial)")
    p.add_argument("--out", default="results/bench_nb201_darts", help="directory for the result files")
    return p


def method_config(method: str, args: argparse.Namespace, data: DataConfig) -> DartsConfig:
    """``method``'s published config in the NAS-Bench-201 space, scaled down by the flags (and only by them)."""
    defaults = DartsConfig.for_method(method, space="nb201")
    epochs, warmup = args.epochs, min(args.warmup_epochs, defaults.warmup_epochs)
    stages: dict[str, Any] = {}
    if method == "pdarts":  # the same epochs as the others, split over its stages; its last stage --cells deep
        epochs = max(1, args.epochs // len(defaults.stage_cells))
        warmup = min(warmup, epochs - 1)
        last = defaults.stage_cells[-1]
        stages["pdarts_cells"] = tuple(max(1, round(c * args.cells / last)) for c in defaults.stage_cells)
    return DartsConfig.for_method(
        method, space="nb201", nb201_cells=args.cells, channels=args.channels, epochs=epochs,
        warmup_epochs=warmup, max_steps_per_epoch=args.steps_per_epoch or None,
        fair_epochs=min(args.fair_epochs, defaults.fair_epochs),
        data=data.to_dict() | {"batch_size": min(data.batch_size, defaults.data.batch_size)}, **stages,
    )


def histogram(archs: list[str]) -> dict[str, int]:
    """Operations over the derived cells' edges, in ``OPS`` order."""
    counts = Counter(op for arch in archs for op in parse_arch(arch).ops)
    return {op: counts.get(op, 0) for op in OPS}


def plot_histograms(path: str, rows: dict[str, dict[str, Any]]) -> None:
    """One bar group per method: how often each operation appears in its derived cells."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    width = 0.8 / len(OPS)
    for k, op in enumerate(OPS):
        xs = [m + k * width for m in range(len(rows))]
        ax.bar(xs, [row["operations"][op] for row in rows.values()], width, label=op)
    ax.set_xticks([m + 0.4 - width / 2 for m in range(len(rows))], list(rows))
    ax.set_ylabel("edges of the derived cells")
    ax.set_title("operations in the derived NAS-Bench-201 cells")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    try:
        unknown = [m for m in methods if m not in METHODS]
        if unknown or not methods:
            raise ValueError(f"--methods: unknown {unknown}; expected some of {list(METHODS)}")
        table = load_table(args.table, args.column)
        data = DataConfig(dataset=args.dataset, data_dir=args.data_dir, batch_size=args.batch_size)
        configs = {m: method_config(m, args, data) for m in methods}
        from hiernas.splits import make_splits

        make_splits(configs[methods[0]].data, 0)  # bad data fails before Ray starts
    except (ValueError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from ray import tune

    from hiernas.tune.runtime import init_ray, run_grid
    from hiernas.tune.trainables import darts_trainable

    init_ray(num_cpus=args.cpus, dashboard=False)
    best_arch, best_acc = table.best()
    summary: dict[str, dict[str, Any]] = {}
    runs: list[dict[str, Any]] = []
    for method in methods:
        cfg = configs[method]
        print(f"[{method}] {args.seeds} seeds, {cfg.epochs} epochs ({cfg.warmup_epochs} warm-up), "
              f"{cfg.nb201_cells} cell(s) per stage, C={cfg.channels}", flush=True)
        started = time.perf_counter()
        outcomes = run_grid(darts_trainable, cfg.to_dict() | {"seed": tune.grid_search(list(range(args.seeds)))},
                            name=f"nb201_{method}", storage_path=os.path.abspath(os.path.join(args.out, "ray")),
                            num_trials=args.seeds, metric="val_acc")
        wall = time.perf_counter() - started
        archs = [str(o.metrics["arch"]) for o in outcomes]
        accs = [table.accuracy(arch) if table.covers(arch) else None for arch in archs]
        found = [a for a in accs if a is not None]
        for outcome, arch, acc in zip(outcomes, archs, accs, strict=True):
            runs.append({"method": method, "seed": outcome.config["seed"], "arch": arch, "table_acc": acc,
                         "search_val_acc": outcome.metrics.get("val_acc")})
        published = PUBLISHED.get(method)
        summary[method] = {
            "table_acc_mean": statistics.fmean(found) if found else None,
            "table_acc_std": statistics.pstdev(found) if len(found) > 1 else 0.0 if found else None,
            "n": len(found),
            "archs": archs,
            "operations": histogram(archs),
            "wall_time_s": wall,
            "published": None if published is None else {"mean": published[0], "std": published[1]},
            "config": cfg.to_dict(),
        }
        row = summary[method]
        shown = "n/a" if row["table_acc_mean"] is None else f"{row['table_acc_mean']:.2f} +- {row['table_acc_std']:.2f}"
        print(f"[{method}] table accuracy {shown} (published {published}), {wall:.0f} s, operations "
              f"{row['operations']}", flush=True)
    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "summary.json"), {
        "note": "table_acc: the benchmark's own 200-epoch test accuracy of each derived cell, looked up, not "
                "trained here; the search itself is ours, at the scale in each config",
        "table": {"column": table.column, "optimum": best_acc, "optimum_arch": best_arch,
                  "optimum_note": TABLE_OPTIMUM_NOTE},
        "methods": summary,
    })
    write_csv(os.path.join(args.out, "runs.csv"), runs)
    plot_histograms(os.path.join(args.out, "operations.png"), summary)
    print(f"table optimum {best_acc:.2f}; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
