"""``hiernas tune-inner`` / ``scripts/tune_inner.py``: the inner trainer's hyper-parameters tuned with
Optuna (OptunaSearch) and an ASHA scheduler."""

from __future__ import annotations

import argparse
import json

from hiernas.cli import common as cli
from hiernas.config import DataConfig
from hiernas.fade.config import MAX_DEPTH, MAX_WINDOW, ModelConfig, TrainConfig, TrialConfig


def build_parser(add_help: bool = True) -> cli.OneLineParser:
    p = cli.OneLineParser(description=__doc__.splitlines()[0].split(": ", 1)[-1], add_help=add_help)
    p.add_argument("--samples", type=cli.positive_int, default=8, help="Optuna trials")
    p.add_argument("--epochs", type=cli.positive_int, default=4, help="max epochs per trial (ASHA max_t)")
    p.add_argument("--depth", type=cli.positive_int, default=4, help=f"rows of the hyper-architecture, 1..{MAX_DEPTH}")
    p.add_argument("--window", type=cli.positive_int, default=4, help=f"candidate cells per row, 1..{MAX_WINDOW}")
    cli.add_data_flags(p, batch_size=128)
    p.add_argument("--seed", type=cli.non_negative_int, default=0, help="seed of the cells, Optuna and the trials")
    cli.add_ray_flags(p, "results/tune_inner", max_concurrent=2)
    return p


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from hiernas.splits import make_splits
    from hiernas.tune.inner_tuning import tune_inner
    from hiernas.tune.storage import resolve_storage
    from spaces.dag import DagSpace

    space = DagSpace()
    rng = np.random.default_rng(args.seed)
    cells = tuple(tuple(space.encode(space.sample(rng)) for _ in range(args.window)) for _ in range(args.depth))
    base = TrialConfig(
        seed=args.seed,
        data=DataConfig(dataset=args.dataset, data_dir=args.data_dir, download=args.download,
                        batch_size=args.batch_size),
        model=ModelConfig(depth=args.depth, window=args.window), train=TrainConfig(epochs=args.epochs, amp=args.amp),
        cells=cells,
    )
    make_splits(base.data, base.seed)  # bad data fails before Ray starts
    cli.start_ray(args)
    config, val_acc = tune_inner(base, args.samples, resolve_storage(args.storage, args.results),
                                 args.cpus_per_trial, args.gpus_per_trial, args.max_concurrent or 2)
    tuned = {"train": {k: config["train"][k] for k in ("weight_lr", "arch_lr", "reg_start")},
             "model": {"temperature": config["model"]["temperature"]}}
    print(f"best val_acc {val_acc:.3f} with {json.dumps(tuned)}")
    return 0


main = cli.command_main(build_parser, run)
