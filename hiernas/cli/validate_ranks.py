"""``hiernas validate-ranks`` / ``scripts/validate_ranks.py``: FaDE section 3.1, Spearman's rho between
FaDE ranks and stand-alone accuracy."""

from __future__ import annotations

import argparse

from hiernas.cli import common as cli
from hiernas.config import DataConfig
from hiernas.fade.config import ARCH_GRADIENTS, CHOICE_MODES, MAX_DEPTH, ModelConfig, TrainConfig, TrialConfig
from hiernas.fade.rank_validation import ValidationPlan, describe


def build_parser(add_help: bool = True) -> cli.OneLineParser:
    p = cli.OneLineParser(description=__doc__.splitlines()[0].split(": ", 1)[-1], add_help=add_help)
    cli.add_data_flags(p, batch_size=128)
    p.add_argument("--seed", type=cli.non_negative_int, default=0, help="first seed of the trainings")
    p.add_argument("--depth", type=cli.positive_int, default=4, help=f"rows of the hyper-architecture, 1..{MAX_DEPTH}")
    p.add_argument("--epochs", type=cli.positive_int, default=10, help="epochs of hyper-architecture training")
    p.add_argument("--repeats", type=cli.positive_int, default=ValidationPlan.repeats,
                   help="hyper-architecture trainings, alpha and path scores averaged")
    p.add_argument("--paths", type=cli.positive_int, default=16, help="paths trained stand-alone")
    p.add_argument("--standalone-epochs", type=cli.positive_int, default=ValidationPlan.standalone_epochs,
                   help="epochs of each stand-alone path")
    p.add_argument("--standalone-seeds", type=cli.positive_int, default=ValidationPlan.standalone_seeds,
                   help="seeds per path, accuracy averaged (>= 2 for the ceiling)")
    p.add_argument("--path-selection", default=ValidationPlan.path_selection, choices=["quantile", "random"],
                   help="paths uniformly at random, or evenly over alpha's ranking")
    p.add_argument("--split-seed", type=cli.non_negative_int, default=DataConfig.split_seed,
                   help="seed of the data split, fixed for every training")
    p.add_argument("--arch-lr", type=cli.positive_float, default=TrainConfig.arch_lr, help="architecture learning rate")
    p.add_argument("--alpha-init-scale", type=float, default=ModelConfig.alpha_init_scale,
                   help="alpha starts at this scale times N(0, 1)")
    p.add_argument("--warmup-epochs", type=cli.non_negative_int, default=TrainConfig.warmup_epochs,
                   help="first epochs with alpha frozen")
    p.add_argument("--arch-every", type=cli.positive_int, default=TrainConfig.arch_every,
                   help="one architecture step every N weight steps")
    p.add_argument("--arch-gradient", default=ModelConfig.arch_gradient, choices=ARCH_GRADIENTS,
                   help="hard Gumbel's architecture gradient")
    p.add_argument("--reg-start", type=float, default=TrainConfig.reg_start, help="max-norm regulariser at the start")
    p.add_argument("--reg-end", type=float, default=TrainConfig.reg_end, help="max-norm regulariser at the end")
    p.add_argument("--choice-mode", default="softmax", choices=CHOICE_MODES,
                   help="row mixing while training the hyper-architecture (hard Gumbel samples one path per step)")
    p.add_argument("--temperature", type=cli.positive_float, default=ModelConfig.temperature,
                   help="Gumbel-softmax temperature")
    p.add_argument("--share-weights", action="store_true", help="share convolutions per row (FaDE 2.2)")
    p.add_argument("--equal-params-convs", type=cli.non_negative_int, default=0,
                   help="> 0: every DAG gets the weights of this many convolutions (FaDE 3.1's equal sizes)")
    cli.add_ray_flags(p, "results/validate_ranks")
    return p


def run(args: argparse.Namespace) -> int:
    from hiernas.splits import make_splits
    from hiernas.tune.rank_validation import validate_ranks

    base = TrialConfig(
        seed=args.seed,
        data=DataConfig(dataset=args.dataset, data_dir=args.data_dir, download=args.download,
                        batch_size=args.batch_size, split_seed=args.split_seed),
        model=ModelConfig(depth=args.depth, choice_mode=args.choice_mode, temperature=args.temperature,
                          share_weights=args.share_weights, alpha_init_scale=args.alpha_init_scale,
                          equal_params_convs=args.equal_params_convs,
                          arch_gradient=args.arch_gradient),
        train=TrainConfig(epochs=args.epochs, arch_lr=args.arch_lr, warmup_epochs=args.warmup_epochs, amp=args.amp,
                          arch_every=args.arch_every, reg_start=args.reg_start, reg_end=args.reg_end),
    )
    plan = ValidationPlan(
        repeats=args.repeats, num_paths=args.paths, standalone_seeds=args.standalone_seeds,
        standalone_epochs=args.standalone_epochs, path_selection=args.path_selection,
        cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial, max_concurrent=args.max_concurrent,
    )
    make_splits(base.data, base.seed)  # bad data fails before Ray starts
    cli.start_ray(args)
    summary = validate_ranks(base, plan, args.results, storage=args.storage)
    print(describe(summary))
    print(f"results in {args.results} ({summary['wall_time_s']:.0f} s)")
    return 0


main = cli.command_main(build_parser, run)
