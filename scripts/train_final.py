#!/usr/bin/env python
"""Train a genotype's evaluation network from scratch (one Ray Tune trial) and report test accuracy.

    python scripts/train_final.py --genotype DARTS_V2 --params-only          # 3349342 (3.3M), aux excluded
    python scripts/train_final.py --genotype results/darts_search/genotype.json --epochs 5 --channels 8 \\
        --layers 5 --cutout 2
    python scripts/train_final.py --genotype '{"normal": [["sep_conv_3x3", 0], ...], ...}'

``--genotype`` is a published name (DARTS_V1, DARTS_V2 / DARTS, PC_DARTS), a JSON file or a JSON string.
Defaults are DARTS' CIFAR-10 evaluation settings (36 channels, 20 cells, auxiliary head 0.4, drop-path
0.2, cutout 16, 600 epochs); flags scale them down explicitly.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hiernas.cli import OneLineParser, non_negative_int, positive_float, positive_int, run_main  # noqa: E402


def parse_args(argv: Sequence[str] | None) -> Any:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--genotype", required=True, help="published name, JSON file or JSON string")
    p.add_argument("--dataset", default="digits", choices=["digits", "cifar10", "synthetic"])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--download", action="store_true")
    p.add_argument("--limit", type=positive_int, default=None, help="use only this many samples")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--batch-size", type=positive_int, default=96)
    p.add_argument("--epochs", type=positive_int, default=600)
    p.add_argument("--lr", type=positive_float, default=0.025)
    p.add_argument("--channels", type=positive_int, default=36)
    p.add_argument("--layers", type=positive_int, default=20, help="cells")
    p.add_argument(
        "--auxiliary", action=argparse_bool(), default=True, help="auxiliary head (--no-auxiliary)"
    )
    p.add_argument("--auxiliary-weight", type=float, default=0.4)
    p.add_argument("--drop-path-prob", type=float, default=0.2)
    p.add_argument("--cutout", type=non_negative_int, default=16, help="cutout length (0: off)")
    p.add_argument("--max-steps-per-epoch", type=positive_int, default=None)
    p.add_argument("--params-only", action="store_true", help="print the network's size and exit")
    p.add_argument("--cpus-per-trial", type=positive_float, default=1)
    p.add_argument("--gpus-per-trial", type=float, default=0)
    p.add_argument("--address", default="")
    p.add_argument("--no-dashboard", action="store_true")
    p.add_argument("--results", default="results/train_final")
    return p.parse_args(argv)


def argparse_bool() -> Any:
    import argparse

    return argparse.BooleanOptionalAction


def load_genotype(text: str) -> Any:
    """A published name, a JSON file (a genotype, or a search result holding ``genotype``) or JSON text."""
    from spaces.darts import PUBLISHED, genotype_from_json, named_genotype

    try:
        return named_genotype(text)
    except KeyError:
        pass
    if os.path.isfile(text):
        with open(text, encoding="utf-8") as file:
            try:
                obj = json.load(file)
            except json.JSONDecodeError as error:
                raise ValueError(f"{text} is not valid JSON: {error}") from None
        if isinstance(obj, dict) and "genotype" in obj and "normal" not in obj:
            obj = obj["genotype"]
        return genotype_from_json(obj)
    if not text.lstrip().startswith("{"):
        raise ValueError(
            f"--genotype {text!r} is neither a published name {sorted(PUBLISHED)}, a file nor JSON"
        )
    return genotype_from_json(text)


def eval_trainable() -> Callable[[dict[str, Any]], None]:
    """``hiernas.trainable.eval_trainable`` (imported late: Ray and torch load only when a search runs)."""
    from hiernas.trainable import eval_trainable as trainable

    return trainable


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from hiernas.config import DataConfig
    from hiernas.genotype_training import EvalConfig

    genotype = load_genotype(args.genotype)
    data = {
        "dataset": args.dataset,
        "data_dir": args.data_dir,
        "download": args.download,
        "limit": args.limit,
        "batch_size": args.batch_size,
    }
    cfg = EvalConfig(
        genotype=genotype.to_json(),
        seed=args.seed,
        data=DataConfig.from_dict(data),
        channels=args.channels,
        layers=args.layers,
        auxiliary=args.auxiliary,
        auxiliary_weight=args.auxiliary_weight,
        drop_path_prob=args.drop_path_prob,
        cutout_length=args.cutout,
        epochs=args.epochs,
        lr=args.lr,
        max_steps_per_epoch=args.max_steps_per_epoch,
    )
    if args.params_only:
        import torch

        from hiernas.genotype_training import build_eval_network
        from hiernas.supernet import count_parameters

        channels = {"digits": 1, "cifar10": 3}.get(args.dataset, cfg.data.synthetic_shape[0])
        classes = cfg.data.synthetic_classes if args.dataset == "synthetic" else 10
        with torch.device("meta"):
            count = count_parameters(build_eval_network(cfg, channels, classes))
        print(
            f"{count} parameters ({count / 1e6:.6f}M): evaluation network, C={cfg.channels}, "
            f"{cfg.layers} cells, {classes} classes, {channels} input channels (auxiliary head excluded)"
        )
        return 0

    from hiernas.results import write_json
    from hiernas.runtime import check_resources, init_ray, run_grid

    url = init_ray(args.address or None, dashboard=not args.no_dashboard)
    if url:
        print(f"Ray dashboard: {url}", file=sys.stderr)
    check_resources(args.cpus_per_trial, args.gpus_per_trial)
    outcomes = run_grid(
        eval_trainable(),
        cfg.to_dict(),
        name="train_final",
        storage_path=os.path.join(args.results, "ray"),
        num_trials=1,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
        metric="test_acc",
    )
    metrics = outcomes[0].metrics
    summary = {key: metrics.get(key) for key in ("epoch", "test_acc", "test_loss", "train_acc", "num_params")}
    write_json(os.path.join(args.results, "final.json"), {**summary, "config": cfg.to_dict()})
    print(
        f"test_acc {float(metrics['test_acc']):.4f} after {metrics['epoch']} epochs, "
        f"{int(metrics['num_params'])} parameters (auxiliary excluded)"
    )
    return 0


if __name__ == "__main__":
    run_main(main)
