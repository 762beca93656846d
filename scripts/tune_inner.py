#!/usr/bin/env python
"""Tune the inner DARTS trainer's hyper-parameters with Optuna (OptunaSearch) and an ASHA scheduler.

    python scripts/tune_inner.py --samples 8 --epochs 4
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hiernas.cli import OneLineParser, non_negative_int, positive_float, positive_int, run_main  # noqa: E402
from hiernas.config import DataConfig, ModelConfig, TrainConfig, TrialConfig  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=positive_int, default=8, help="Optuna trials")
    p.add_argument("--epochs", type=positive_int, default=4, help="max epochs per trial (ASHA max_t)")
    p.add_argument("--depth", type=positive_int, default=4)
    p.add_argument("--window", type=positive_int, default=4)
    p.add_argument("--dataset", default="digits", choices=["digits", "cifar10", "synthetic"])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--cpus-per-trial", type=positive_float, default=1)
    p.add_argument("--gpus-per-trial", type=float, default=0)
    p.add_argument("--max-concurrent", type=positive_int, default=2)
    p.add_argument("--address", default="")
    p.add_argument("--results", default="results/tune_inner")
    args = p.parse_args(argv)

    import numpy as np

    from hiernas.data import make_splits
    from hiernas.inner_tuning import tune_inner
    from hiernas.runtime import init_ray
    from spaces.dag import DagSpace

    space = DagSpace()
    rng = np.random.default_rng(args.seed)
    cells = tuple(tuple(space.encode(space.sample(rng)) for _ in range(args.window)) for _ in range(args.depth))
    base = TrialConfig(
        seed=args.seed, data=DataConfig(dataset=args.dataset, data_dir=args.data_dir),
        model=ModelConfig(depth=args.depth, window=args.window), train=TrainConfig(epochs=args.epochs), cells=cells,
    )
    make_splits(base.data, base.seed)  # bad data fails here, before Ray starts
    init_ray(args.address or None, dashboard=False)
    config, val_acc = tune_inner(base, args.samples, args.results, args.cpus_per_trial, args.gpus_per_trial,
                                 args.max_concurrent)
    tuned = {"train": {k: config["train"][k] for k in ("weight_lr", "arch_lr", "reg_start")},
             "model": {"temperature": config["model"]["temperature"]}}
    print(f"best val_acc {val_acc:.3f} with {json.dumps(tuned)}")
    return 0


if __name__ == "__main__":
    run_main(main)
