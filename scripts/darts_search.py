#!/usr/bin/env python
"""Cell-level differentiable search (DARTS, DARTS 2nd order, PC-DARTS, GDAS, DARTS-PD) as Ray Tune trials.

    python scripts/darts_search.py --method pcdarts --epochs 4 --warmup-epochs 1 --seeds 2
    python scripts/darts_search.py --method darts2 --dataset cifar10 --data-dir ~/data/cifar-10-batches-py
    python scripts/darts_search.py --method darts --params-only          # 1.93M for the DARTS search network

Defaults are each method's paper settings (``hiernas.darts_search.method_defaults``); every flag given
overrides them explicitly. With ``--seeds N`` the seeds run as parallel trials and the derived genotypes
are ranked across seeds by their final validation accuracy (results: ``DIR/genotypes_ranked.json``,
``DIR/seed<k>_genotype.json``, cell drawings, alpha history, and for DARTS-PD the trade-off CSV/PNG).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hiernas.cli import OneLineParser, non_negative_int, positive_float, positive_int, run_main  # noqa: E402
from hiernas.darts_search import BASE_METHODS, METHODS  # noqa: E402

OVERRIDES = {  # flag name -> DartsConfig field; only flags the user gave override the method defaults
    "epochs": "epochs",
    "channels": "channels",
    "layers": "layers",
    "steps": "steps",
    "weight_lr": "weight_lr",
    "arch_lr": "arch_lr",
    "warmup_epochs": "warmup_epochs",
    "channel_fraction": "channel_fraction",
    "prune_k": "prune_k",
    "fair_epochs": "fair_epochs",
    "es_population": "es_population",
    "es_generations": "es_generations",
    "num_architectures": "num_architectures",
    "max_steps_per_epoch": "max_steps_per_epoch",
    "max_eval_batches": "max_eval_batches",
    "tau_max": "tau_max",
    "tau_min": "tau_min",
    "eval_channels": "eval_channels",
    "eval_layers": "eval_layers",
}


def parse_args(argv: Sequence[str] | None) -> Any:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--base-method", default="pcdarts", choices=BASE_METHODS, help="DARTS-PD stage 1")
    p.add_argument("--dataset", default="digits", choices=["digits", "cifar10", "synthetic"])
    p.add_argument("--data-dir", default=None, help="directory with the CIFAR-10 python batches")
    p.add_argument("--download", action="store_true", help="download CIFAR-10 if missing")
    p.add_argument("--limit", type=positive_int, default=None, help="use only this many samples")
    p.add_argument("--seed", type=non_negative_int, default=0, help="first seed")
    p.add_argument("--seeds", type=positive_int, default=1, help="seeds seed..seed+N-1 as parallel trials")
    p.add_argument("--batch-size", type=positive_int, default=None)
    p.add_argument("--epochs", type=positive_int, default=None)
    p.add_argument("--channels", type=positive_int, default=None, help="initial channels C (16)")
    p.add_argument("--layers", type=positive_int, default=None, help="cells (8)")
    p.add_argument("--steps", type=positive_int, default=None, help="intermediate nodes per cell (4)")
    p.add_argument("--weight-lr", type=positive_float, default=None)
    p.add_argument("--arch-lr", type=positive_float, default=None)
    p.add_argument("--warmup-epochs", type=non_negative_int, default=None, help="epochs with alpha frozen")
    p.add_argument("--channel-fraction", type=positive_int, default=None, help="PC-DARTS K (4)")
    p.add_argument("--tau-max", type=positive_float, default=None)
    p.add_argument("--tau-min", type=positive_float, default=None)
    p.add_argument("--prune-k", type=positive_int, default=None, help="DARTS-PD: ops kept per edge (2)")
    p.add_argument("--fair-epochs", type=non_negative_int, default=None, help="DARTS-PD stage 2 epochs (600)")
    p.add_argument("--es-population", type=positive_int, default=None)
    p.add_argument("--es-generations", type=non_negative_int, default=None)
    p.add_argument("--num-architectures", type=positive_int, default=None, help="DARTS-PD: sizes returned")
    p.add_argument("--eval-channels", type=positive_int, default=None, help="size counting network (36)")
    p.add_argument("--eval-layers", type=positive_int, default=None, help="size counting network (20)")
    p.add_argument("--max-steps-per-epoch", type=positive_int, default=None, help="cap steps (budget)")
    p.add_argument("--max-eval-batches", type=positive_int, default=None, help="cap validation batches")
    p.add_argument("--params-only", action="store_true", help="print the search network's size and exit")
    p.add_argument("--cpus-per-trial", type=positive_float, default=1)
    p.add_argument("--gpus-per-trial", type=float, default=0)
    p.add_argument("--max-concurrent", type=positive_int, default=None)
    p.add_argument("--address", default="", help="empty: start a local Ray; 'auto': join a running cluster")
    p.add_argument("--no-dashboard", action="store_true")
    p.add_argument("--results", default="results/darts_search", help="output directory")
    return p.parse_args(argv)


def build_config(args: Any) -> Any:
    from hiernas.darts_search import DartsConfig

    data: dict[str, Any] = {
        "dataset": args.dataset,
        "data_dir": args.data_dir,
        "download": args.download,
        "limit": args.limit,
    }
    if args.batch_size is not None:
        data["batch_size"] = args.batch_size
    overrides = {
        field: getattr(args, flag) for flag, field in OVERRIDES.items() if getattr(args, flag) is not None
    }
    return DartsConfig.for_method(
        args.method, base_method=args.base_method, seed=args.seed, data=data, **overrides
    )


def data_shape(cfg: Any) -> tuple[int, int]:
    """(input channels, classes) without loading the data; the search network's size needs nothing else."""
    if cfg.data.dataset == "synthetic":
        return int(cfg.data.synthetic_shape[0]), int(cfg.data.synthetic_classes)
    return (1, 10) if cfg.data.dataset == "digits" else (3, 10)


def darts_trainable() -> Callable[[dict[str, Any]], None]:
    """``hiernas.trainable.darts_trainable`` (imported late: Ray and torch load only when a search runs)."""
    from hiernas.trainable import darts_trainable as trainable

    return trainable


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = build_config(args)
    if args.params_only:
        import torch

        from hiernas.darts_search import build_search_network
        from hiernas.supernet import count_parameters

        with torch.device("meta"):
            count = count_parameters(build_search_network(cfg, *data_shape(cfg)))
        print(
            f"{count} parameters ({count / 1e6:.6f}M): {cfg.method} search network, C={cfg.channels}, "
            f"{cfg.layers} cells, {cfg.steps} nodes, {data_shape(cfg)[1]} classes (alpha/beta excluded)"
        )
        return 0

    from ray import tune

    from hiernas.genotype_plot import write_search_outputs
    from hiernas.results import write_csv, write_json
    from hiernas.runtime import check_resources, init_ray, run_grid

    url = init_ray(args.address or None, dashboard=not args.no_dashboard)
    if url:
        print(f"Ray dashboard: {url}", file=sys.stderr)
    check_resources(args.cpus_per_trial, args.gpus_per_trial)
    param_space = cfg.to_dict()
    param_space["seed"] = tune.grid_search(list(range(args.seed, args.seed + args.seeds)))
    outcomes = run_grid(
        darts_trainable(),
        param_space,
        name=f"darts_{cfg.method}",
        storage_path=os.path.join(args.results, "ray"),
        num_trials=args.seeds,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
        max_concurrent=args.max_concurrent,
        metric="val_acc",
    )
    ranked = sorted(outcomes, key=lambda o: -float(o.metrics.get("val_acc", 0.0)))
    rows = []
    for rank, outcome in enumerate(ranked, start=1):
        seed = int(outcome.config["seed"])
        write_search_outputs(args.results, outcome.metrics, cfg.warmup_epochs, prefix=f"seed{seed}_")
        rows.append(
            {
                "rank": rank,
                "seed": seed,
                "val_acc": outcome.metrics.get("val_acc"),
                "genotype": outcome.metrics["genotype"],
            }
        )
    write_search_outputs(args.results, ranked[0].metrics, cfg.warmup_epochs)  # the best: genotype.json
    write_json(os.path.join(args.results, "genotypes_ranked.json"), rows)
    write_csv(os.path.join(args.results, "genotypes_ranked.csv"), rows)
    write_json(os.path.join(args.results, "config.json"), cfg.to_dict())
    for row in rows:
        print(f"#{row['rank']} seed {row['seed']} val_acc {float(row['val_acc']):.4f} {row['genotype']}")
    print(f"best genotype: {os.path.join(args.results, 'genotype.json')}")
    return 0


if __name__ == "__main__":
    run_main(main)
