"""``hiernas darts`` / ``scripts/darts_search.py``: cell-level differentiable search (DARTS, DARTS 2nd
order, PC-DARTS, GDAS, DARTS-PD, ProxylessNAS, PARSEC, P-DARTS, MergeNAS, DropNAS) as Ray Tune trials, one
per seed, in the DARTS or the NAS-Bench-201 space."""

from __future__ import annotations

import argparse
from typing import Any

from hiernas.cli import common as cli
from hiernas.darts.config import BASE_METHODS, METHODS, SPACES, DartsConfig

# flags that override a DartsConfig field of the same name; only flags the user gave override the
# method's published defaults (their argparse default is None, shown as "method default" in --help)
OVERRIDES: tuple[tuple[str, Any, str], ...] = (
    ("epochs", cli.positive_int, "search epochs (P-DARTS: per stage)"),
    ("channels", cli.positive_int, "initial channels C (DARTS: 16)"),
    ("layers", cli.positive_int, "cells (DARTS: 8)"),
    ("steps", cli.positive_int, "intermediate nodes per cell (DARTS: 4)"),
    ("nb201_cells", cli.positive_int, "NAS-Bench-201 space: cells per stage (5)"),
    ("weight_lr", cli.positive_float, "weight learning rate"),
    ("arch_lr", cli.positive_float, "architecture learning rate"),
    ("warmup_epochs", cli.non_negative_int, "epochs with alpha frozen"),
    ("channel_fraction", cli.positive_int, "PC-DARTS K (4)"),
    ("tau_max", cli.positive_float, "GDAS temperature at the first epoch"),
    ("tau_min", cli.positive_float, "GDAS temperature at the last epoch"),
    ("prune_k", cli.positive_int, "DARTS-PD: ops kept per edge (2)"),
    ("fair_epochs", cli.non_negative_int, "DARTS-PD stage 2 epochs (600)"),
    ("es_population", cli.positive_int, "DARTS-PD evolution population"),
    ("es_generations", cli.non_negative_int, "DARTS-PD evolution generations"),
    ("num_architectures", cli.positive_int, "DARTS-PD: architectures of different sizes returned"),
    ("eval_channels", cli.positive_int, "channels of the network sizes are counted on (36)"),
    ("eval_layers", cli.positive_int, "cells of the network sizes are counted on (20)"),
    ("drop_rate", cli.non_negative_float, "DropNAS: probability a whole operation group is dropped (3e-5)"),
    ("parsec_samples", cli.positive_int, "PARSEC: children sampled per architecture step (8)"),
    ("pdarts_cells", cli.int_list, "P-DARTS: cells per stage, comma-separated (DARTS 5,11,17; NB201 1,3,5)"),
    ("pdarts_ops", cli.int_list, "P-DARTS: operations per edge per stage (DARTS 8,5,3; NB201 5,4,3)"),
    ("pdarts_skip_drop", cli.float_list, "P-DARTS: skip-connection dropout per stage (0.0,0.4,0.7)"),
    ("pdarts_max_skips", cli.non_negative_int, "P-DARTS: skip connections allowed in the final cell (2)"),
    ("max_steps_per_epoch", cli.positive_int, "cap on steps per epoch (budget)"),
    ("max_eval_batches", cli.positive_int, "cap on validation batches"),
)


def build_parser(add_help: bool = True) -> cli.OneLineParser:
    p = cli.OneLineParser(description=__doc__.splitlines()[0].split(": ", 1)[-1], add_help=add_help)
    p.add_argument("--method", required=True, choices=METHODS, help="search method")
    p.add_argument("--base-method", default="pcdarts", choices=BASE_METHODS, help="DARTS-PD stage 1")
    p.add_argument("--space", default="darts", choices=SPACES,
                   help="cells searched: DARTS' or NAS-Bench-201's (prints the benchmark's architecture string)")
    cli.add_data_flags(p, batch_size=None)
    p.add_argument("--limit", type=cli.positive_int, default=None, help="use only this many samples")
    p.add_argument("--seed", type=cli.non_negative_int, default=0, help="first seed")
    p.add_argument("--seeds", type=cli.positive_int, default=1, help="seeds seed..seed+N-1 as parallel trials")
    for name, kind, text in OVERRIDES:
        p.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None, help=f"{text}; None: method default")
    p.add_argument("--params-only", action="store_true", help="print the search network's size and exit")
    cli.add_ray_flags(p, "results/darts_search")
    return p


# flags of one space only: giving one in the other space is refused rather than silently ignored
SPACE_ONLY = {"darts": ("layers", "steps", "eval_channels", "eval_layers"), "nb201": ("nb201_cells",)}


def build_config(args: argparse.Namespace) -> DartsConfig:
    """The method's published config with the data flags and every override flag the user gave."""
    for space, names in SPACE_ONLY.items():
        given = [f"--{name.replace('_', '-')}" for name in names if getattr(args, name) is not None]
        if given and args.space != space:
            raise ValueError(f"{' '.join(given)}: only for --space {space}, not --space {args.space}")
    data: dict[str, Any] = {"dataset": args.dataset, "data_dir": args.data_dir, "download": args.download,
                            "limit": args.limit}
    if args.batch_size is not None:
        data["batch_size"] = args.batch_size
    overrides = {name: getattr(args, name) for name, _, _ in OVERRIDES if getattr(args, name) is not None}
    return DartsConfig.for_method(args.method, base_method=args.base_method, space=args.space, seed=args.seed,
                                  data=data, amp=args.amp, **overrides)


def run(args: argparse.Namespace) -> int:
    from hiernas.darts.supernets import search_network_size

    cfg = build_config(args)
    if args.params_only:
        print(search_network_size(cfg))
        return 0
    from hiernas.tune.darts import run_darts_seeds

    cli.start_ray(args)
    rows = run_darts_seeds(cfg, args.seeds, args.results, args.cpus_per_trial, args.gpus_per_trial,
                           args.max_concurrent, storage=args.storage)
    for row in rows:
        print(f"#{row['rank']} seed {row['seed']} val_acc {float(row['val_acc']):.4f} {row[cfg.arch_key]}")
    if cfg.space == "nb201":
        print(f"best architecture: {args.results}/arch.json")
    else:
        print(f"best genotype: {args.results}/genotype.json")
    return 0


main = cli.command_main(build_parser, run)
