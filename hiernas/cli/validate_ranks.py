"""``hiernas validate-ranks`` / ``scripts/validate_ranks.py``: FaDE section 3.1, Spearman's rho between
FaDE ranks and stand-alone accuracy."""

from __future__ import annotations

import argparse

from hiernas.cli import common as cli
from hiernas.config import DataConfig
from hiernas.fade.config import CHOICE_MODES, MAX_DEPTH, ModelConfig, TrainConfig, TrialConfig
from hiernas.fade.rank_validation import ValidationPlan


def build_parser(add_help: bool = True) -> cli.OneLineParser:
    p = cli.OneLineParser(description=__doc__.splitlines()[0].split(": ", 1)[-1], add_help=add_help)
    cli.add_data_flags(p, batch_size=128)
    p.add_argument("--seed", type=cli.non_negative_int, default=0, help="first seed of the trainings")
    p.add_argument("--depth", type=cli.positive_int, default=4, help=f"rows of the hyper-architecture, 1..{MAX_DEPTH}")
    p.add_argument("--epochs", type=cli.positive_int, default=10, help="epochs of hyper-architecture training")
    p.add_argument("--repeats", type=cli.positive_int, default=4, help="hyper-architecture trainings, alpha averaged")
    p.add_argument("--paths", type=cli.positive_int, default=16, help="paths trained stand-alone")
    p.add_argument("--standalone-epochs", type=cli.positive_int, default=25, help="epochs of each stand-alone path")
    p.add_argument("--standalone-seeds", type=cli.positive_int, default=2, help="seeds per path, accuracy averaged")
    p.add_argument("--path-selection", default="quantile", choices=["quantile", "random"],
                   help="paths evenly over the predicted ranking, or uniformly at random")
    p.add_argument("--arch-lr", type=cli.positive_float, default=TrainConfig.arch_lr, help="architecture learning rate")
    p.add_argument("--choice-mode", default="softmax", choices=CHOICE_MODES,
                   help="row mixing while training the hyper-architecture (hard Gumbel samples one path per step)")
    p.add_argument("--temperature", type=cli.positive_float, default=ModelConfig.temperature,
                   help="Gumbel-softmax temperature")
    p.add_argument("--share-weights", action="store_true", help="share convolutions per row (FaDE 2.2)")
    cli.add_ray_flags(p, "results/validate_ranks")
    return p


def run(args: argparse.Namespace) -> int:
    from hiernas.splits import make_splits
    from hiernas.tune.rank_validation import validate_ranks

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
    make_splits(base.data, base.seed)  # bad data fails before Ray starts
    cli.start_ray(args)
    summary = validate_ranks(base, plan, args.results)
    print(f"Spearman rho = {summary['spearman_rho']} (p = {summary['spearman_p']}), "
          f"Kendall tau = {summary['kendall_tau']} over {len(summary['paths'])} paths; "
          f"results in {args.results} ({summary['wall_time_s']:.0f} s)")
    return 0


main = cli.command_main(build_parser, run)
