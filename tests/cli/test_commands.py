"""Every command: --help shows each flag's default, bad resources are one line and exit 2 (fade_search's
bad shapes: tests/cli/test_search_cli.py), the ``hiernas`` console command runs the same functions as the
scripts, and networks take the data's channels."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hiernas.cli.main import COMMANDS, build_parser
from hiernas.config import DataConfig
from hiernas.darts.config import DartsConfig, EvalConfig
from hiernas.darts.retrain import eval_network_size
from hiernas.darts.supernets import search_network_size
from hiernas.datasets import InputSpec, input_spec, load_dataset
from spaces.darts import named_genotype

ROOT = Path(__file__).resolve().parents[2]
MODULES = [module for module, _ in COMMANDS.values()]


def _run(argv: list[str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


def _one_line_exit_2(proc: subprocess.CompletedProcess[str], expected: str) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and expected in lines[-1].lower(), proc.stderr
    assert lines[-1].startswith("error:") or ": error:" in lines[-1], proc.stderr


@pytest.mark.parametrize("module", MODULES)
def test_help_shows_every_default(module: str) -> None:
    parser = importlib.import_module(f"hiernas.cli.{module}").build_parser()
    text = " ".join(parser.format_help().split())
    for action in parser._actions:
        if action.option_strings and action.default is not argparse.SUPPRESS and action.dest != "help":
            help_line = " ".join(parser._get_formatter()._expand_help(action).split())  # noqa: SLF001
            assert "(default:" in help_line and help_line in text, (module, action.dest)


@pytest.mark.parametrize("script", ["fade_search.py", "darts_search.py", "train_final.py", "validate_ranks.py"])
def test_scripts_print_help_with_defaults(script: str) -> None:
    proc = _run([sys.executable, f"scripts/{script}", "--help"])
    assert proc.returncode == 0 and "(default:" in proc.stdout and "--gpus-per-trial" in proc.stdout


@pytest.mark.parametrize(
    "script,args",
    [
        ("darts_search.py", ["--method", "darts"]),
        ("train_final.py", ["--genotype", "DARTS_V2"]),
        ("validate_ranks.py", []),
        ("tune_inner.py", []),
    ],
)
def test_gpus_the_machine_lacks_are_one_line_and_exit_2(script: str, args: list[str], tmp_path: Path) -> None:
    results = tmp_path / "out"
    proc = _run([sys.executable, f"scripts/{script}", *args, "--dataset", "synthetic", "--gpus-per-trial", "1",
                 "--no-dashboard", "--results", str(results)])
    _one_line_exit_2(proc, "--gpus-per-trial 1")
    assert not results.exists()


def test_console_command_lists_the_subcommands_and_runs_them() -> None:
    console = Path(sys.executable).parent / "hiernas"
    assert console.exists(), "pip install gives the hiernas console command"
    proc = _run([str(console), "--help"])
    assert proc.returncode == 0 and all(name in proc.stdout for name in COMMANDS)
    flags = ["--genotype", "DARTS_V2", "--dataset", "cifar10", "--params-only"]
    same = [_run([str(console), "retrain", *flags]), _run([sys.executable, "scripts/train_final.py", *flags])]
    assert [p.returncode for p in same] == [0, 0] and same[0].stdout == same[1].stdout
    assert same[0].stdout.startswith("3349342 parameters")  # DARTS V2 at C=36, 20 cells: 3.3M
    _one_line_exit_2(_run([str(console), "search", "--depth", "100"]), "--depth")


def test_subcommand_parsers_equal_the_scripts() -> None:
    parsed = build_parser().parse_args(["darts", "--method", "gdas", "--epochs", "3"])
    direct = importlib.import_module("hiernas.cli.darts").build_parser().parse_args(
        ["--method", "gdas", "--epochs", "3"]
    )
    assert {k: v for k, v in vars(parsed).items() if k != "command"} == vars(direct)


def test_input_spec_matches_the_loaded_data() -> None:
    for cfg in (DataConfig(dataset="digits"), DataConfig(dataset="synthetic", synthetic_shape=(5, 6, 6),
                                                          synthetic_classes=4, synthetic_size=16)):
        arrays = load_dataset(cfg)
        channels, size, _ = arrays.images.shape[1:]
        assert input_spec(cfg) == InputSpec(int(channels), int(size), arrays.num_classes)
    assert input_spec(DataConfig(dataset="cifar10")) == InputSpec(3, 32, 10)  # without loading anything


def test_network_sizes_take_the_channels_and_classes_of_the_data() -> None:
    gray = DartsConfig.for_method("darts", data={"dataset": "digits"})
    colour = DartsConfig.for_method("darts", data={"dataset": "cifar10"})
    assert search_network_size(colour).startswith("1930618 parameters")  # DARTS' published 1.93M search network
    assert search_network_size(gray) != search_network_size(colour)
    wide = EvalConfig(genotype=named_genotype("DARTS_V2").to_json(),
                      data=DataConfig(dataset="synthetic", synthetic_shape=(7, 8, 8)))
    assert "7 input channels" in eval_network_size(wide)



@pytest.mark.parametrize("module", MODULES)
def test_help_states_each_default_once(module: str) -> None:
    """A flag whose help already says its default (one that depends on other flags) is not given a second,
    misleading ``(default: None)``."""
    text = " ".join(importlib.import_module(f"hiernas.cli.{module}").build_parser().format_help().split())
    for chunk in text.split("--")[1:]:
        assert chunk.count("(default:") <= 1, (module, chunk[:80])


def test_rank_validation_budget_defaults_per_space_and_yields_to_flags() -> None:
    """DAG cells get the measured 4 epochs x 12 repeats in 4 rows (on CIFAR-10 too), NAS-Bench-201 cells 10 x 4 in
    1 row; flags win."""
    from hiernas.cli.validate_ranks import build_parser as validate_parser
    from hiernas.cli.validate_ranks import hyper_budget

    parser = validate_parser()
    assert hyper_budget(parser.parse_args([])) == (4, 4, 12)
    assert hyper_budget(parser.parse_args(["--dataset", "cifar10"])) == (4, 4, 12)  # 1480 s on 2 cores
    assert hyper_budget(parser.parse_args(["--space", "nb201"])) == (1, 10, 4)
    assert hyper_budget(parser.parse_args(["--epochs", "10", "--repeats", "4", "--depth", "3"])) == (3, 10, 4)


def test_stand_alone_epochs_default_to_convergence_on_digits_only() -> None:
    from hiernas.cli.validate_ranks import STANDALONE_EPOCHS, build_parser, standalone_epochs
    from hiernas.fade.rank_validation import ValidationPlan

    parser = build_parser()
    assert standalone_epochs(parser.parse_args([])) == STANDALONE_EPOCHS["digits"] == 30
    assert standalone_epochs(parser.parse_args(["--dataset", "cifar10"])) == ValidationPlan.standalone_epochs
    assert standalone_epochs(parser.parse_args(["--standalone-epochs", "5"])) == 5
