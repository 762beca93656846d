"""``hiernas retrain`` / ``scripts/train_final.py``: a genotype's evaluation network trained from scratch
(one Ray Tune trial), reporting test accuracy. Defaults are DARTS' CIFAR-10 evaluation settings."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from hiernas.cli import common as cli
from hiernas.config import DataConfig
from hiernas.darts.config import EvalConfig


def build_parser(add_help: bool = True) -> cli.OneLineParser:
    p = cli.OneLineParser(description=__doc__.splitlines()[0].split(": ", 1)[-1], add_help=add_help)
    p.add_argument("--genotype", required=True, help="published name (DARTS_V2, PC_DARTS, ...), JSON file or JSON")
    cli.add_data_flags(p, batch_size=96)
    p.add_argument("--limit", type=cli.positive_int, default=None, help="use only this many samples")
    p.add_argument("--seed", type=cli.non_negative_int, default=0, help="seed of weights, batches, cutout, drop-path")
    p.add_argument("--epochs", type=cli.positive_int, default=600, help="training epochs")
    p.add_argument("--lr", type=cli.positive_float, default=0.025, help="initial SGD learning rate (cosine to 0)")
    p.add_argument("--channels", type=cli.positive_int, default=36, help="initial channels C")
    p.add_argument("--layers", type=cli.positive_int, default=20, help="cells")
    p.add_argument("--auxiliary", action=argparse.BooleanOptionalAction, default=True, help="auxiliary head")
    p.add_argument("--auxiliary-weight", type=float, default=0.4, help="weight of the auxiliary loss")
    p.add_argument("--drop-path-prob", type=float, default=0.2, help="final drop-path probability")
    p.add_argument("--cutout", type=cli.non_negative_int, default=16, help="cutout length (0: off)")
    p.add_argument("--max-steps-per-epoch", type=cli.positive_int, default=None, help="cap on steps per epoch")
    p.add_argument("--params-only", action="store_true", help="print the network's size and exit")
    cli.add_ray_flags(p, "results/train_final")
    return p


NB201_REFUSAL = (
    "is a NAS-Bench-201 architecture; retraining covers DARTS genotypes only "
    "(the benchmark holds each NAS-Bench-201 cell's trained accuracy)"
)


def load_genotype(text: str) -> Any:
    """A published name, a JSON file (a genotype, or a search result holding ``genotype``) or JSON text.

    A NAS-Bench-201 architecture string, or a file of one (``arch.json``), is refused in one line.
    """
    from spaces.darts import PUBLISHED, genotype_from_json, named_genotype
    from spaces.nb201 import parse_arch

    if text.lstrip().startswith("|"):
        parse_arch(text)  # a malformed string is refused naming its bad part
        raise ValueError(f"--genotype {text.strip()} {NB201_REFUSAL}")

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
        if isinstance(obj, dict) and "arch" in obj and "genotype" not in obj and "normal" not in obj:
            raise ValueError(f"--genotype {text} {NB201_REFUSAL}")
        if isinstance(obj, dict) and "genotype" in obj and "normal" not in obj:
            obj = obj["genotype"]
        return genotype_from_json(obj)
    if not text.lstrip().startswith("{"):
        raise ValueError(f"--genotype {text!r} is neither a published name {sorted(PUBLISHED)}, a file nor JSON")
    return genotype_from_json(text)


def build_config(args: argparse.Namespace) -> EvalConfig:
    data = DataConfig(dataset=args.dataset, data_dir=args.data_dir, download=args.download, limit=args.limit,
                      batch_size=args.batch_size)
    return EvalConfig(
        genotype=load_genotype(args.genotype).to_json(), seed=args.seed, data=data, channels=args.channels,
        layers=args.layers, auxiliary=args.auxiliary, auxiliary_weight=args.auxiliary_weight,
        drop_path_prob=args.drop_path_prob, cutout_length=args.cutout, epochs=args.epochs, lr=args.lr,
        max_steps_per_epoch=args.max_steps_per_epoch, amp=args.amp,
    )


def run(args: argparse.Namespace) -> int:
    from hiernas.darts.retrain import eval_network_size

    cfg = build_config(args)
    if args.params_only:
        print(eval_network_size(cfg))
        return 0
    from hiernas.tune.darts import run_retraining

    cli.start_ray(args)
    metrics = run_retraining(cfg, args.results, args.cpus_per_trial, args.gpus_per_trial, storage=args.storage)
    print(f"test_acc {float(metrics['test_acc']):.4f} after {metrics['epoch']} epochs, "
          f"{int(metrics['num_params'])} parameters (auxiliary excluded)")
    return 0


main = cli.command_main(build_parser, run)
