#!/usr/bin/env python
"""Reproduce FaDE section 3.1: Spearman's rho between FaDE ranks and stand-alone accuracy.

    python scripts/validate_ranks.py                       # embedded digits data, ~10 minutes on 2 cores
    python scripts/validate_ranks.py --dataset cifar10 --data-dir ~/data/cifar-10-batches-py --epochs 10
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hiernas.cli import OneLineParser, non_negative_int, positive_float, positive_int, run_main  # noqa: E402
from hiernas.config import DataConfig, ModelConfig, TrainConfig, TrialConfig  # noqa: E402


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="digits", choices=["digits", "cifar10", "synthetic"])
    p.add_argument("--data-dir", default=None, help="directory with the CIFAR-10 python batches")
    p.add_argument("--download", action="store_true", help="download CIFAR-10 with torchvision if missing")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--depth", type=positive_int, default=4, help="rows (cells) of the hyper-architecture")
    p.add_argument("--epochs", type=positive_int, default=10, help="epochs of hyper-architecture training")
    p.add_argument("--repeats", type=positive_int, default=4, help="hyper-architecture trainings, alpha averaged")
    p.add_argument("--paths", type=positive_int, default=16, help="paths trained stand-alone")
    p.add_argument("--standalone-epochs", type=positive_int, default=25)
    p.add_argument("--standalone-seeds", type=positive_int, default=2, help="seeds per path, accuracy averaged")
    p.add_argument("--path-selection", default="quantile", choices=["quantile", "random"])
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--arch-lr", type=positive_float, default=TrainConfig.arch_lr)
    p.add_argument("--choice-mode", default="softmax", choices=["softmax", "gumbel_hard", "gumbel_soft"],
                   help="row mixing while training the hyper-architecture (see README: softmax learns within "
                        "the 15-minute budget, hard Gumbel samples one path per step and needs far longer)")
    p.add_argument("--temperature", type=positive_float, default=ModelConfig.temperature)
    p.add_argument("--share-weights", action="store_true", help="share convolutions per row (FaDE 2.2)")
    p.add_argument("--cpus-per-trial", type=positive_float, default=1)
    p.add_argument("--gpus-per-trial", type=float, default=0)
    p.add_argument("--max-concurrent", type=positive_int, default=None)
    p.add_argument("--address", default="", help="empty: start a local Ray; 'auto': join a running cluster")
    p.add_argument("--results", default="results/validate_ranks", help="output directory")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from hiernas.rank_validation import ValidationPlan, validate_ranks
    from hiernas.runtime import ResourceError, check_resources, init_ray

    base = TrialConfig(
        seed=args.seed,
        data=DataConfig(dataset=args.dataset, data_dir=args.data_dir, download=args.download,
                        batch_size=args.batch_size),
        model=ModelConfig(depth=args.depth, choice_mode=args.choice_mode, temperature=args.temperature,
                          share_weights=args.share_weights),
        train=TrainConfig(epochs=args.epochs, arch_lr=args.arch_lr),
    )
    plan = ValidationPlan(
        repeats=args.repeats, num_paths=args.paths, standalone_seeds=args.standalone_seeds,
        standalone_epochs=args.standalone_epochs, path_selection=args.path_selection,
        cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial, max_concurrent=args.max_concurrent,
    )
    from hiernas.data import make_splits

    make_splits(base.data, base.seed)  # fail on bad data before starting Ray
    dashboard = init_ray(args.address or None)
    if dashboard:
        print(f"Ray dashboard: {dashboard}", file=sys.stderr)
    try:
        check_resources(args.cpus_per_trial, args.gpus_per_trial)
    except ResourceError as error:
        raise ValueError(str(error)) from None
    summary = validate_ranks(base, plan, args.results)
    print(f"Spearman rho = {summary['spearman_rho']} (p = {summary['spearman_p']}), "
          f"Kendall tau = {summary['kendall_tau']} over {len(summary['paths'])} paths; "
          f"results in {args.results} ({summary['wall_time_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    run_main(main)
