#!/usr/bin/env python
"""Searchers on NAS-Bench-201 through real Ray Tune runs, answered from the benchmark's table: best
found accuracy per searcher, budget and rank-noise level, REA as the reference, no training.

    python bench/nb201_search.py --table nb201_cifar10.csv --out results/nb201_search

The table is a CSV of the benchmark's architecture strings (column ``arch``) and an accuracy column in
percent (``--column``; ``hiernas.benchmark_table``), e.g. exported from NATS-Bench's topology space.
A smoke run (seconds): ``--seeds 1 --budgets 20 --noise 0 --match-agreement none``.

Every (searcher, seed, noise level) is one Tune run (``hiernas.tune.runtime.make_tuner``, one
``ray.init`` for the whole bench) of ``hiernas.tune.tabular.tabular_trainable``:

- ``fade``, ``evolution`` (DARTS-PD path selection), ``random``: our hyper-architecture searchers
  (``searchers.make_searcher``) on ``depth`` 1 row of ``--window`` NAS-Bench-201 cells per trial, one
  repeat; each trial reports alpha = softmax(acc / temperature + noise * N(0, 1)) over its window.
  **A trial of ``window`` cells counts as ``window`` evaluations**, so a budget of B evaluations is
  ``floor(B / window)`` trials.
- ``rea``: regularised evolution (``searchers.rea.REASearcher``, population 10, sample 3 as in
  NAS-Bench-201), one cell per trial.
- ``optuna``: Tune's ``OptunaSearch`` (TPE, seeded) with a categorical choice of operation per edge.
- ``tune-random``: Tune's ``BasicVariantGenerator`` (seeded) with ``tune.choice`` per edge.

**What counts as found.** As in NAS-Bench-201's protocol, the table accuracy of the architecture the
searcher *returns* after the budget, not the best of everything it touched: for our searchers
``searcher.best(1)`` (fade and random: the highest-alpha cell of the iteration with the best measured
``val_acc``; evolution: its archive's best path-wise score); for the discrete ones the evaluated cell
with the best measured ``val_acc`` (REA: ``best(1)``). The best-so-far curve is that choice after each
trial. Budgets are read off one run at the largest budget (the state after the trials that fit in it).

**FaDE's settings.** ``--gamma 0.5 --step 3`` and drawn ties (``--fade-ties random``) by default, not the
project's 0.1 and 1 (tuned for the DAG space). The default features take few values (853 distinct vectors
for 15,625 cells), so +-0.1 probes snap back to the anchor's own feature group and the anchor never moves
(20 seeds, lowest-index ties: 90.98 +- 1.66 % at 100 evaluations); with lowest-index ties the optimum's
group of 15 is never proposed either. Chosen once, before the reported runs, by the Tune-free loop of the
same searchers and trainable on seeds 1000..1019 (disjoint from the reported 0..N-1), oracle ranks, mean
best found at 96 / 300 evaluations, drawn ties: gamma/step 0.2/3: 94.06 / 94.21; 0.3/3: 94.20 / 94.34;
0.3/10: 94.24 / 94.37; 0.4/3: 94.29 / 94.37; 0.5/1: 94.15 / 94.32; 0.5/3: 94.35 / 94.37; 0.7/3: 94.36 /
94.37 (REA there: 94.09 / 94.34; lowest-index ties at 0.3/3: 94.15 / 94.23). 0.5/3 is the middle of the
plateau 0.4..0.7 x 3, within 0.01 of its best.

**Noise.** ``--noise`` are standard deviations of Gaussian noise on the logits ``acc / --temperature``
(acc in percent; temperature 1: a level is in percentage points) of our hyper-architecture trials:
the shared-weight ranks' noise. The discrete searchers see ``acc + --arch-noise * N(0, 1)`` (default 0:
the table value, as a benchmark lookup), so they are run once per seed and stand in every noise level.
How a level maps to rank agreement: for each level the bench prints the mean Spearman correlation
between two independent noisy draws of the same row of ``window`` random cells; ``--match-agreement``
(default 0.57: the "alpha agreement" of repeats measured by ``scripts/validate_ranks.py`` on digits)
adds the level whose agreement is that value (found by bisection). That measured agreement ranks the
625 paths of 4 rows; here a row's cells: comparable only roughly.

Outputs in ``--out``: ``summary.json`` (``settings``, ``table``, ``noise_levels`` with their agreement,
``summary[searcher][budget][noise]`` = ``mean``, ``std`` (sample SD), ``n``, ``median``,
``regret_mean`` (optimum - mean, points), ``regret_std``, ``evaluations``; ``comparison[budget][noise]``:
our best searcher (highest mean of fade/evolution/random there) against REA, difference and Welch
t-test p-values (two-sided, and one-sided that ours is better), and ``tune`` (trials per second, wall
time per run)), ``runs.csv`` (one row per run and budget), ``trajectories.csv`` (best so far after each
trial of each run) and ``trajectories.png`` (mean +- std over seeds per searcher, one panel per level).
Bad input is one line on stderr and exit code 2.

Measured (README, "NAS-Bench-201 without training", has the table): the default run (20 seeds x (3 of
ours x 4 levels + 3 discrete) = 300 Tune runs) took 28.7 min on 2 cores shared with other jobs (load 5-7):
4.2 s per run of our searchers (50 trials; about 3 s of it is Tune starting the run's actors) and 10-13 s
per run of 300 one-cell trials; ``--noise 0 --match-agreement none`` would take about 16 min by these times.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
# Tune's per-trial CSV/JSON/TensorBoard loggers cost about a fifth of a trial here; results come back
# through the callbacks below. Set before Ray is imported.
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

from optuna import logging as optuna_logging  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.search.basic_variant import BasicVariantGenerator  # noqa: E402
from ray.tune.search.optuna import OptunaSearch  # noqa: E402

from hiernas.benchmark_table import BenchmarkTable, load_table  # noqa: E402
from hiernas.cli.common import OneLineParser, non_negative_float, positive_float, positive_int  # noqa: E402
from hiernas.errors import TrialError  # noqa: E402
from hiernas.nb201.search_report import DISCRETE, HYPER, plot, print_summary, summarise_runs  # noqa: E402
from hiernas.rank_noise import AgreementSampler  # noqa: E402
from hiernas.results import write_csv, write_json  # noqa: E402
from hiernas.tune.runtime import first_error_line, init_ray, make_tuner  # noqa: E402
from hiernas.tune.table_search import Trajectory, edge_space, edge_trainable  # noqa: E402
from hiernas.tune.tabular import TableData, tabular_trainable  # noqa: E402
from searchers import REASearcher, make_searcher  # noqa: E402
from searchers.fade import ESTIMATORS, TIES  # noqa: E402
from spaces.nb201 import OPS, Nb201Space  # noqa: E402

SEARCHER_NAMES = HYPER + DISCRETE


# ------------------------------------------------------------------ one Tune run


@dataclass(frozen=True)
class RunSpec:
    """One Tune run: a searcher, a seed and (our searchers only) a noise level."""

    searcher: str
    seed: int
    noise: float | None  # None: the discrete searchers (noise-independent)

    @property
    def name(self) -> str:
        level = "" if self.noise is None else f"-noise{self.noise:g}"
        return f"{self.searcher}{level}-seed{self.seed}"


def run_one(
    args: argparse.Namespace, space: Nb201Space, data: TableData, spec: RunSpec, storage: str
) -> dict[str, Any]:
    """Run one search through Tune; returns its picks (best so far after each trial), wall time and trials."""
    # the constant part of every trial's TabularConfig; the searcher adds cells (and seed, train) or arch
    param_space: dict[str, Any] = {"table": os.path.abspath(args.table), "column": args.column,
                                   "temperature": args.temperature, "noise": spec.noise or 0.0,
                                   "arch_noise": args.arch_noise, "seed": spec.seed}
    budget = max(args.budgets)
    options: dict[str, Any] = {"metric": "val_acc", "mode": "max", "max_concurrent_trials": 1}
    trainable: Any = tabular_trainable
    searcher: Any
    if spec.searcher in HYPER:
        searcher = make_searcher(spec.searcher, space, 1, args.window, budget // args.window, seed=spec.seed,
                                 gamma=args.gamma, step=args.step, estimator=args.fade_step,
                                 ties=args.fade_ties)
        options.update(search_alg=searcher, num_samples=-1)
        per_trial = args.window
    elif spec.searcher == "rea":
        searcher = REASearcher(space, budget, population_size=args.population, sample_size=args.sample, seed=spec.seed)
        options.update(search_alg=searcher, num_samples=-1, max_concurrent_trials=args.max_concurrent)
        per_trial = 1
    else:
        param_space["edges"] = edge_space(OPS)
        trainable = edge_trainable
        per_trial = 1
        if spec.searcher == "optuna":
            searcher = OptunaSearch(seed=spec.seed)
        else:
            searcher = BasicVariantGenerator(random_state=spec.seed)
        options.update(search_alg=searcher, num_samples=budget, max_concurrent_trials=args.max_concurrent)
    recorder = Trajectory(searcher if spec.searcher in HYPER or spec.searcher == "rea" else None)
    # the table goes to the trials through the object store: fresh actors per run need not read the CSV
    tuner = make_tuner(tune.with_parameters(trainable, table=data), name=spec.name, storage_path=storage,
                       param_space=param_space, max_failures=0, callbacks=[recorder], **options)
    started = time.perf_counter()
    grid = tuner.fit()
    wall = time.perf_counter() - started
    if grid.errors:
        raise TrialError(f"{spec.name}: a trial failed: {first_error_line(grid.errors[0])}")
    shutil.rmtree(os.path.join(storage, spec.name), ignore_errors=True)  # tens of thousands of trial dirs
    return {"picks": recorder.picks, "per_trial": per_trial, "wall_s": wall, "trials": len(recorder.picks)}


def budget_value(
    table: BenchmarkTable, picks: Sequence[str | None], per_trial: int, budget: int
) -> tuple[float, int, str]:
    """Table accuracy of the pick after the trials that fit in ``budget`` evaluations, those evaluations, the arch."""
    trials = min(budget // per_trial, len(picks))
    pick = picks[trials - 1] if trials > 0 else None
    if pick is None:
        raise TrialError(f"no architecture chosen after {trials} trial(s) of {per_trial} evaluation(s)")
    return table.accuracy(pick), trials * per_trial, pick


# ------------------------------------------------------------------ command line


def agreement_level(text: str) -> float | None:
    """argparse type: a rank agreement in (0, 1), or 'none'."""
    if text.lower() == "none":
        return None
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected an agreement in (0, 1) or 'none', got {text}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = OneLineParser(prog="nb201_search.py", description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="benchmark CSV: 'arch' and an accuracy column (percent)")
    parser.add_argument("--column", default=None, help="the accuracy column (default: the only one besides arch)")
    parser.add_argument("--searchers", nargs="+", default=list(SEARCHER_NAMES), choices=SEARCHER_NAMES)
    parser.add_argument("--seeds", type=positive_int, default=20, help="seeds 0..N-1 per searcher and level")
    parser.add_argument("--budgets", type=positive_int, nargs="+", default=[100, 300],
                        help="evaluated architectures (one run at the largest; the others read off it)")
    parser.add_argument("--window", type=positive_int, default=6, help="cells per hyper-architecture trial")
    parser.add_argument("--noise", type=non_negative_float, nargs="+", default=[0.0, 0.5, 1.0],
                        help="std of the logit noise of our searchers' trials (logits = acc / temperature)")
    parser.add_argument("--match-agreement", type=agreement_level, default=0.57,
                        help="also run the noise level of this rank agreement ('none': do not)")
    parser.add_argument("--temperature", type=positive_float, default=1.0, help="alpha = softmax(acc / T), acc in %%")
    parser.add_argument("--arch-noise", type=non_negative_float, default=0.0,
                        help="std (points) of the noise on the discrete searchers' accuracies")
    parser.add_argument("--gamma", type=positive_float, default=0.5,
                        help="FaDE's probe width (the project's 0.1 stalls on NAS-Bench-201: module docstring)")
    parser.add_argument("--step", type=positive_float, default=3.0, help="FaDE's step size")
    parser.add_argument("--fade-step", default="least_squares", choices=ESTIMATORS, help="FaDE's estimator")
    parser.add_argument("--fade-ties", default="random", choices=TIES,
                        help="FaDE's choice among equally near cells: a seeded draw, or the lowest index")
    parser.add_argument("--population", type=positive_int, default=10, help="REA's population")
    parser.add_argument("--sample", type=positive_int, default=3, help="REA's tournament sample")
    parser.add_argument("--max-concurrent", type=positive_int, default=1,
                        help="trials in flight for rea, optuna, tune-random (ours run one trial per batch)")
    parser.add_argument("--cpus", type=positive_int, default=2, help="CPUs of the local Ray")
    parser.add_argument("--out", default="results/nb201_search")
    args = parser.parse_args(argv)
    args.budgets = sorted(set(args.budgets))
    if any(b < args.window for b in args.budgets) and set(args.searchers) & set(HYPER):
        parser.error(f"every budget must allow one trial of --window {args.window} cells, got {args.budgets}")
    if args.window < 2 and set(args.searchers) & {"fade", "evolution"}:
        parser.error("fade and evolution need --window >= 2")
    if args.gamma > 1:
        parser.error(f"--gamma must be in (0, 1], got {args.gamma}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    table = load_table(args.table, args.column)  # bad input: one-line DataError before Ray starts
    space = Nb201Space()
    missing = next((cell.arch_str for cell in space.cells if not table.covers(cell)), None)
    if missing is not None:
        raise ValueError(f"the table covers {len(table)} of the {len(space)} NAS-Bench-201 cells (e.g. not "
                         f"{missing}); the searchers need every cell")
    optimum_arch, optimum = table.best()
    os.makedirs(args.out, exist_ok=True)
    sampler = AgreementSampler.of(table, args.window)
    levels = sorted(set(args.noise))
    matched = None
    if args.match_agreement is not None and set(args.searchers) & set(HYPER):
        matched = sampler.matched_noise(args.match_agreement, args.temperature)
        levels = sorted(set(levels) | {matched})
    noise_levels = [{"noise": level, "agreement": sampler.agreement(level, args.temperature),
                     "matched": level == matched} for level in levels]
    print(f"table {args.table} column {table.column!r}: {len(table)} architectures, optimum {optimum:.4f} %")
    print(f"rank agreement (mean Spearman of two noisy draws of a row of {args.window} random cells), "
          f"temperature {args.temperature:g}:")
    for entry in noise_levels:
        note = f"  <- matches {args.match_agreement}" if entry["matched"] else ""
        print(f"  noise {entry['noise']:6.2f}: agreement {entry['agreement']:.3f}{note}")
    print(f"budgets {args.budgets} evaluated architectures; a hyper-architecture trial of {args.window} cells "
          f"counts as {args.window} evaluations ({max(args.budgets) // args.window} trials at the largest budget)")

    specs = [RunSpec(name, seed, level if name in HYPER else None)
             for seed in range(args.seeds) for name in args.searchers
             for level in (levels if name in HYPER else [None])]
    init_ray(num_cpus=args.cpus, dashboard=False)
    logging.getLogger("ray.tune").setLevel(logging.ERROR)  # without loggers Tune warns of missing result files
    optuna_logging.set_verbosity(optuna_logging.WARNING)  # one "study created" line per run otherwise
    storage = os.path.join(os.path.abspath(args.out), "ray")
    data = TableData.of(table)
    rows: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    curves: dict[tuple[str, float | None], list[tuple[list[int], list[float]]]] = {}
    walls: dict[str, list[float]] = {}
    trial_counts: dict[str, list[int]] = {}
    started = time.perf_counter()
    for done, spec in enumerate(specs, start=1):
        out = run_one(args, space, data, spec, storage)
        walls.setdefault(spec.searcher, []).append(out["wall_s"])
        trial_counts.setdefault(spec.searcher, []).append(out["trials"])
        values = []
        for budget in args.budgets:
            acc, evaluations, arch = budget_value(table, out["picks"], out["per_trial"], budget)
            values.append(acc)
            rows.append({"searcher": spec.searcher, "noise": "" if spec.noise is None else spec.noise,
                         "seed": spec.seed, "budget": budget, "evaluations": evaluations, "best_acc": acc,
                         "regret": optimum - acc, "arch": arch, "trials": out["trials"],
                         "wall_s": round(out["wall_s"], 2), "trials_per_s": round(out["trials"] / out["wall_s"], 2)})
        evaluations_axis = [(i + 1) * out["per_trial"] for i in range(len(out["picks"]))]
        accuracies = [table.accuracy(p) if p is not None else math.nan for p in out["picks"]]
        curves.setdefault((spec.searcher, spec.noise), []).append((evaluations_axis, accuracies))
        points += [{"searcher": spec.searcher, "noise": "" if spec.noise is None else spec.noise, "seed": spec.seed,
                    "evaluations": e, "best_acc": a} for e, a in zip(evaluations_axis, accuracies, strict=True)]
        elapsed = time.perf_counter() - started
        found = ", ".join(f"@{b} {v:.2f}" for b, v in zip(args.budgets, values, strict=True))
        print(f"[{done}/{len(specs)}] {spec.name}: best {found} ({out['trials']} trials, {out['wall_s']:.1f} s, "
              f"{out['trials'] / out['wall_s']:.1f} trials/s; elapsed {elapsed / 60:.1f} min, "
              f"left ~{elapsed / done * (len(specs) - done) / 60:.1f} min)", flush=True)
        if done % 25 == 0 or done == len(specs):
            write_csv(os.path.join(args.out, "runs.csv"), rows)

    summary, comparison = summarise_runs(rows, args.searchers, args.budgets, levels, optimum)
    tune_cost = {name: {"runs": len(walls[name]), "trials_per_run": statistics.fmean(trial_counts[name]),
                        "wall_s_per_run": statistics.fmean(walls[name]),
                        "trials_per_s": sum(trial_counts[name]) / sum(walls[name])} for name in walls}
    settings = {k: v for k, v in vars(args).items()}
    write_json(os.path.join(args.out, "summary.json"), {
        "settings": settings,
        "table": {"column": table.column, "architectures": len(table), "optimum": optimum,
                  "optimum_arch": optimum_arch},
        "counting": (f"a hyper-architecture trial of {args.window} cells counts as {args.window} evaluations; "
                     "found = table accuracy of the architecture the searcher returns (its best(1)), not the "
                     "best cell it evaluated"),
        "noise_levels": noise_levels,
        "summary": summary,
        "comparison": comparison,
        "tune": tune_cost,
        "wall_time_s": time.perf_counter() - started,
    })
    write_csv(os.path.join(args.out, "runs.csv"), rows)
    write_csv(os.path.join(args.out, "trajectories.csv"), points)
    plot(os.path.join(args.out, "trajectories.png"), curves, levels, args.searchers, args.budgets, optimum)
    shutil.rmtree(storage, ignore_errors=True)
    print_summary(args.seeds, args.searchers, args.budgets, summary, comparison, tune_cost, levels, optimum)
    print(f"wrote {args.out}/summary.json, runs.csv, trajectories.csv, trajectories.png")
    return 0


def cli(argv: Sequence[str] | None = None) -> None:
    """``main`` with bad input (a table that cannot be read or lacks cells) as one line and exit code 2,
    failed trials as one line and exit code 1."""
    try:
        code = main(argv)
    except TrialError as error:
        print(f"error: {str(error).strip().splitlines()[0]}", file=sys.stderr)
        raise SystemExit(1) from None
    except (ValueError, OSError) as error:  # DataError is a ValueError
        print(f"error: {(str(error).strip() or type(error).__name__).splitlines()[0]}", file=sys.stderr)
        raise SystemExit(2) from None
    raise SystemExit(code)


if __name__ == "__main__":
    cli(sys.argv[1:])
