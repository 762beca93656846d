#!/usr/bin/env python
"""Hierarchical NAS on Ray Tune: FaDE (default), DARTS-PD evolution or random search over DAG cells.

    python scripts/fade_search.py --depth 4 --window 6
    python scripts/fade_search.py --searcher evolution --iterations 8 --results results/evo
    python scripts/fade_search.py --address auto ...          # on a cluster started with `ray up cluster.yaml`
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hiernas.cli import (  # noqa: E402
    OneLineParser,
    non_negative_int,
    positive_float,
    positive_int,
    run_main,
    show_progress_log,
)
from hiernas.config import DataConfig, ModelConfig, TrainConfig, TrialConfig  # noqa: E402


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--depth", type=int, default=4, help="rows (cells) of the architecture")
    p.add_argument("--window", type=int, default=6, help="candidate cells per row")
    p.add_argument("--searcher", default="fade", help="fade | evolution | random")
    p.add_argument("--iterations", type=positive_int, default=4)
    p.add_argument("--epochs", type=positive_int, default=2, help="hyper-architecture epochs per iteration")
    p.add_argument("--repeats", type=positive_int, default=2, help="trials per iteration (seeds, alpha averaged)")
    p.add_argument("--gamma", type=float, default=0.1, help="probe distance in the feature space, (0, 1]")
    p.add_argument("--step", type=float, default=1.0, help="pseudo-gradient step size lambda, > 0")
    p.add_argument("--temperature", type=positive_float, default=ModelConfig.temperature)
    p.add_argument("--choice-mode", default="softmax", choices=["softmax", "gumbel_hard", "gumbel_soft"])
    p.add_argument("--dataset", default="digits", choices=["digits", "cifar10", "synthetic"])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--download", action="store_true")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--cpus-per-trial", type=positive_float, default=1)
    p.add_argument("--gpus-per-trial", type=float, default=0)
    p.add_argument("--max-concurrent", type=positive_int, default=None)
    p.add_argument("--max-failures", type=non_negative_int, default=2)
    p.add_argument("--address", default="", help="empty: start a local Ray; 'auto': join a running cluster")
    p.add_argument("--results", default="results/fade_search")
    p.add_argument("--resume", action="store_true", help="continue the search in --results")
    p.add_argument("--final-epochs", type=non_negative_int, default=15, help="stand-alone epochs of the best path")
    p.add_argument("--dashboard", action=__import__("argparse").BooleanOptionalAction, default=True)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.depth < 1 or args.window < 1:
        raise ValueError(f"--depth and --window must be >= 1, got {args.depth} and {args.window}")
    if args.gpus_per_trial < 0:
        raise ValueError(f"--gpus-per-trial must be >= 0, got {args.gpus_per_trial}")
    from search_runner import SearchSettings, check_resume, make_searcher, run_search

    from hiernas.data import make_splits
    from hiernas.runtime import ResourceError, check_resources, init_ray

    base = TrialConfig(
        seed=args.seed,
        data=DataConfig(dataset=args.dataset, data_dir=args.data_dir, download=args.download,
                        batch_size=args.batch_size),
        model=ModelConfig(depth=args.depth, window=args.window, choice_mode=args.choice_mode,
                          temperature=args.temperature),
        train=TrainConfig(epochs=args.epochs),
    )
    settings = SearchSettings(
        searcher=args.searcher, iterations=args.iterations, repeats=args.repeats, gamma=args.gamma,
        step=args.step, final_epochs=args.final_epochs, cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial, max_concurrent=args.max_concurrent, max_failures=args.max_failures,
    )
    make_searcher(settings, base)  # validates depth, window, gamma, step before anything runs
    make_splits(base.data, base.seed)  # bad data fails here, before Ray starts
    check_resume(args.results, settings, base, args.resume)  # a foreign results directory is refused early
    show_progress_log("searchers.progress")
    dashboard = init_ray(args.address or None, dashboard=args.dashboard)
    if dashboard:
        print(f"Ray dashboard: {dashboard}", file=sys.stderr)
    try:
        check_resources(args.cpus_per_trial, args.gpus_per_trial)
    except ResourceError as error:
        raise ValueError(str(error)) from None
    out = run_search(settings, base, args.results, resume=args.resume)
    best = out["best"]
    acc = f", stand-alone test accuracy {best['test_acc']:.3f}" if "test_acc" in best else ""
    print(f"{out['iterations']} iterations in {out['wall_time_s']:.0f} s; best path {best.get('indices')} "
          f"from iteration {best.get('iteration')}{acc}; results in {args.results}")
    return 0


if __name__ == "__main__":
    run_main(main)
