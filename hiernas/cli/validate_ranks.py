"""``hiernas validate-ranks`` / ``scripts/validate_ranks.py``: FaDE section 3.1, Spearman's rho between
FaDE ranks and stand-alone accuracy, or (``--space nb201 --benchmark-table``) a benchmark table's accuracy."""

from __future__ import annotations

import argparse

from hiernas.cli import common as cli
from hiernas.config import DataConfig
from hiernas.fade.config import ARCH_GRADIENTS, CHOICE_MODES, MAX_DEPTH, ModelConfig, TrainConfig, TrialConfig
from hiernas.fade.rank_validation import ValidationPlan, describe
from hiernas.fade.table_ranks import describe_table_ranks

# Hyper-architecture budget per space. DAG cells (digits, 8 repeats, measured; README "Rank validation"):
# the perturbation score (accuracy drop) needs trained shared weights: against the converged stand-alone
# accuracies of two path sets it gives rho +0.75 / +0.71 after 2 epochs, +0.80 / +0.80 after 4 and
# +0.80 / +0.83 after 8 (the mixture's validation accuracy 0.85, 0.96, 0.98); alpha's agreement between
# repeats is 0.54, 0.71 and 0.61. Alpha itself ranks best after 1-2 epochs, but against the converged
# ground truth it is weak at any length (-0.03 / +0.51 after 2, +0.06 / +0.41 after 4). 4 epochs keep the
# default validation within 15 minutes on 2 cores. Path-wise scores need longer (--epochs 10).
# 12 repeats: the accuracy drop's repeats agree only about 0.4 (accuracy on 299 images moves in steps of
# 1/299), so an average over 8 still depends on which 8 ran. Against the converged accuracies of three path
# sets (seeds 0, 1, 2), 300 draws from 18 trained repeats gave medians [5 %, 95 %] of +0.67 [+0.35, +0.80],
# +0.75 [+0.54, +0.86], +0.37 [+0.18, +0.57] for 8 repeats, +0.68 [+0.47, +0.79], +0.78 [+0.58, +0.84],
# +0.40 [+0.26, +0.52] for 12 and +0.69 [+0.61, +0.76], +0.80 [+0.72, +0.83], +0.41 [+0.33, +0.46] for 16
# (an understated spread: draws of 16 from 18 share 14): more repeatable, hardly higher. 16 repeats took the
# whole validation to 922 s on 2 quiet cores (stand-alone paths about 680 s), over its 15 minutes; 12 save
# about 60 s of it.
# NAS-Bench-201 cells keep 10 x 4.
SPACE_DEFAULTS = {"dag": {"depth": 4, "epochs": 4, "repeats": 12}, "nb201": {"depth": 1, "epochs": 10, "repeats": 4}}
# The CIFAR-10 development subset takes the same 4 x 12 (it took 2 x 8 while every repeat scored all 625
# paths, 88 of a repeat's 115 s there): 1480 s for the default validation on 2 quiet cores. Nothing ranks
# there at either budget (perturbation +0.09 / -0.10, alpha +0.05 / -0.34 at 4 x 12 / 2 x 8): its 1,500
# training images give no ground truth (README, "Rank validation").
# Stand-alone epochs per data set, long enough to converge where that is affordable. Digits, measured on the
# 16 paths of --seed 0: after 12 epochs train accuracy is 0.90-0.995 (the ranking then is how fast a path
# trains), after 30 it is 0.996-1.000 in 699 s for the whole validation on 2 quiet cores. Other data sets keep
# ValidationPlan's 12 (the CIFAR-10 development subset is at train accuracy 0.39-0.59 after 12 epochs and
# would need far more than 30 minutes to converge on 2 cores).
STANDALONE_EPOCHS = {"digits": 30}


def build_parser(add_help: bool = True) -> cli.OneLineParser:
    p = cli.OneLineParser(description=__doc__.splitlines()[0].split(": ", 1)[-1], add_help=add_help)
    cli.add_data_flags(p, batch_size=128)
    p.add_argument("--seed", type=cli.non_negative_int, default=0, help="first seed of the trainings")
    p.add_argument("--depth", type=cli.positive_int, default=None,
                   help=f"rows of the hyper-architecture, 1..{MAX_DEPTH} (default: 4 for DAG cells, 1 for nb201)")
    p.add_argument("--space", default="dag", choices=("dag", "nb201"),
                   help="dag: FaDE 3.1's DAGs against stand-alone training; nb201: NAS-Bench-201 cells against "
                        "--benchmark-table (no stand-alone training)")
    p.add_argument("--benchmark-table", default=None, metavar="FILE",
                   help="NAS-Bench-201 CSV (columns arch and one accuracy): the ground truth of --space nb201")
    p.add_argument("--benchmark-column", default=None, help="the table's accuracy column, if it has several")
    p.add_argument("--cells", type=cli.positive_int, default=15,
                   help="--space nb201: cells at evenly spaced quantiles of the table's accuracy, in every row")
    p.add_argument("--epochs", type=cli.positive_int, default=None,
                   help="epochs of hyper-architecture training (default: 4 for DAG cells, 10 for nb201)")
    p.add_argument("--repeats", type=cli.positive_int, default=None,
                   help="hyper-architecture trainings, alpha and path scores averaged (default: 12 for DAG cells, "
                        "4 for nb201)")
    p.add_argument("--paths", type=cli.positive_int, default=16, help="paths trained stand-alone")
    p.add_argument("--standalone-epochs", type=cli.positive_int, default=None,
                   help=f"epochs of each stand-alone path (default: {STANDALONE_EPOCHS['digits']} on digits, where "
                        f"every path then converges; {ValidationPlan.standalone_epochs} otherwise)")
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
    cli.add_head_norm_flag(p)
    p.add_argument("--equal-params-convs", type=cli.non_negative_int, default=0,
                   help="> 0: every DAG gets the weights of this many convolutions (FaDE 3.1's equal sizes)")
    cli.add_ray_flags(p, "results/validate_ranks")
    return p


def hyper_budget(args: argparse.Namespace) -> tuple[int, int, int]:
    """Depth, epochs and repeats of the hyper-architecture: the flags given, else the space's defaults."""
    defaults = SPACE_DEFAULTS[args.space]
    return (args.depth or defaults["depth"], args.epochs or defaults["epochs"], args.repeats or defaults["repeats"])


def standalone_epochs(args: argparse.Namespace) -> int:
    """Epochs of each stand-alone path: the flag, else the data set's default."""
    return args.standalone_epochs or STANDALONE_EPOCHS.get(args.dataset, ValidationPlan.standalone_epochs)


def run(args: argparse.Namespace) -> int:
    from hiernas.splits import make_splits
    from hiernas.tune.rank_validation import validate_ranks, validate_ranks_on_table

    table = None
    if args.space == "nb201":
        from hiernas.benchmark_table import load_table

        if args.benchmark_table is None:
            raise ValueError("--space nb201 needs --benchmark-table FILE (the ground truth)")
        table = load_table(args.benchmark_table, args.benchmark_column)
        if not 2 <= args.cells <= len(table):
            raise ValueError(f"--cells must be in 2..{len(table)}, got {args.cells}")
    elif args.benchmark_table is not None:
        raise ValueError("--benchmark-table scores NAS-Bench-201 cells: use it with --space nb201")
    depth, epochs, repeats = hyper_budget(args)
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"--depth must be in 1..{MAX_DEPTH}, got {depth}")
    if table is not None and args.cells**depth > 4096:
        raise ValueError(f"--cells {args.cells} in {depth} rows make {args.cells**depth} paths to score; "
                         f"at most 4096: lower --depth or --cells")

    base = TrialConfig(
        seed=args.seed,
        data=DataConfig(dataset=args.dataset, data_dir=args.data_dir, download=args.download,
                        batch_size=args.batch_size, split_seed=args.split_seed),
        model=ModelConfig(depth=depth, choice_mode=args.choice_mode, temperature=args.temperature,
                          share_weights=args.share_weights, alpha_init_scale=args.alpha_init_scale,
                          equal_params_convs=args.equal_params_convs, head_norm=args.head_norm,
                          arch_gradient=args.arch_gradient),
        train=TrainConfig(epochs=epochs, arch_lr=args.arch_lr, warmup_epochs=args.warmup_epochs, amp=args.amp,
                          arch_every=args.arch_every, reg_start=args.reg_start, reg_end=args.reg_end),
    )
    plan = ValidationPlan(
        repeats=repeats, num_paths=args.paths, standalone_seeds=args.standalone_seeds,
        standalone_epochs=standalone_epochs(args), path_selection=args.path_selection,
        cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial, max_concurrent=args.max_concurrent,
    )
    make_splits(base.data, base.seed)  # bad data fails before Ray starts
    cli.start_ray(args)
    if table is not None:
        summary = validate_ranks_on_table(base, plan, table, args.cells, args.results, storage=args.storage)
        print(describe_table_ranks(summary))
    else:
        summary = validate_ranks(base, plan, args.results, storage=args.storage)
        print(describe(summary))
    print(f"results in {args.results} ({summary['wall_time_s']:.0f} s)")
    return 0


main = cli.command_main(build_parser, run)
