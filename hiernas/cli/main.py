"""The ``hiernas`` console command: one subcommand per entry point, each calling the same function as
its script in ``scripts/`` (``hiernas search`` is ``python scripts/fade_search.py``)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from hiernas.cli.common import OneLineParser, run_main

# subcommand -> (module in hiernas.cli, the script it equals)
COMMANDS = {
    "search": ("search", "scripts/fade_search.py"),
    "darts": ("darts", "scripts/darts_search.py"),
    "retrain": ("retrain", "scripts/train_final.py"),
    "validate-ranks": ("validate_ranks", "scripts/validate_ranks.py"),
    "tune-inner": ("tune_inner", "scripts/tune_inner.py"),
    "nb201-table": ("nb201_table", "scripts/nb201_table.py"),
}


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="hiernas", description="Hierarchical NAS on Ray Tune (FaDE, DARTS family).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser)
    for name, (module, script) in COMMANDS.items():
        command = importlib.import_module(f"hiernas.cli.{module}")
        parent = command.build_parser(add_help=False)
        sub.add_parser(name, parents=[parent], help=f"{parent.description} (= {script})",
                       description=parent.description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``hiernas`` console script."""

    def dispatch(args: Sequence[str] | None) -> int:
        parsed = build_parser().parse_args(args)
        module = importlib.import_module(f"hiernas.cli.{COMMANDS[parsed.command][0]}")
        return int(module.run(parsed))

    run_main(dispatch, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
