"""``hiernas nb201-table`` / ``scripts/nb201_table.py``: the CSV table (arch, accuracy) of every
NAS-Bench-201 cell, from the official NATS-Bench topology file (needs the package nats_bench)."""

from __future__ import annotations

import argparse
import csv
import os
import tempfile

from hiernas.cli import common as cli


def build_parser(add_help: bool = True) -> cli.OneLineParser:
    p = cli.OneLineParser(description=__doc__.splitlines()[0].split(": ", 1)[-1], add_help=add_help)
    p.add_argument("--nats-file", default=None,
                   help="the topology benchmark's file or directory (default: nats_bench's under $TORCH_HOME)")
    p.add_argument("--dataset", default="cifar10", help="cifar10-valid | cifar10 | cifar100 | ImageNet16-120")
    p.add_argument("--hp", default="200", choices=("12", "200"), help="training epochs of the benchmark's schedule")
    p.add_argument("--out", required=True, help="the CSV to write (columns arch and <dataset>_test_acc)")
    return p


def run(args: argparse.Namespace) -> int:
    from hiernas.benchmark_table import ARCH_COLUMN, load_nats_bench

    table = load_nats_bench(args.nats_file, args.dataset, args.hp)
    directory = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(directory, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", newline="", dir=directory, suffix=".tmp", delete=False) as stream:
        writer = csv.writer(stream)
        writer.writerow([ARCH_COLUMN, table.column])
        writer.writerows(sorted(table.accuracies.items()))
    os.replace(stream.name, args.out)  # a half-written table is never left behind
    print(f"{len(table)} architectures -> {args.out} (column {table.column}; best {table.best()[1]:.2f})")
    return 0


main = cli.command_main(build_parser, run)
