"""``bench/darts_methods.py`` on a tiny network: a row per method with positive numbers, DARTS' ratios 1, the
one-path methods below DARTS in saved activations, the files, and one-line errors for bad flags."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hiernas.darts.config import METHODS
from hiernas.results import read_csv

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "darts_methods.py"
TINY = ["--channels", "4", "--layers", "3", "--steps", "2", "--batch", "4", "--size", "8", "--repeats", "1",
        "--warmup", "0", "--memory-steps", "1", "--pdarts-cells", "2,3"]


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("darts_methods_bench", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench()


def test_every_method_has_a_row_against_darts(bench: ModuleType, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main([*TINY, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    result: dict[str, Any] = json.loads((tmp_path / "darts_methods.json").read_text())
    rows = {row["name"]: row for row in result["rows"]}
    methods = [row["method"] for row in result["rows"]]
    assert set(methods) == set(METHODS) and methods.count("pdarts") == 2  # P-DARTS: first and last stage
    assert len(read_csv(tmp_path / "darts_methods.csv")) == len(rows)
    for row in rows.values():
        assert row["name"] in printed
        assert row["weight_mib"] > 0 and row["peak_mib"] > 0 and row["state_mib"] > 0 and row["step_s"] > 0
        assert row["memory_ratio"] > 0 and row["with_state_ratio"] > 0 and row["time_ratio"] > 0
    darts = rows["darts"]
    assert darts["memory_ratio"] == darts["with_state_ratio"] == darts["time_ratio"] == 1.0
    last = next(row for row in result["rows"] if row["name"].startswith("pdarts (last"))
    assert last["network"] == "3 cells x 3 ops"
    # ProxylessNAS and GDAS compute one path per edge (two in ProxylessNAS' architecture step), DARTS all eight
    for method in ("proxyless", "gdas"):
        assert rows[method]["peak_mib"] < 0.5 * darts["peak_mib"], method
        assert f"{method}: {rows[method]['memory_ratio']:.2f}x of DARTS' activations" in printed


def test_a_bad_flag_is_one_line_on_the_command_line() -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--methods", "enas"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "enas" in proc.stderr


@pytest.mark.parametrize("flags", [["--pdarts-cells", "5"], ["--channels", "6"], ["--space", "nb202"],
                                   ["--time-channels", "10"]])
def test_bad_flags_exit_2_with_one_line(bench: ModuleType, flags: list[str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = bench.main(flags)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and err.strip() and err.strip().count("\n") == 0, err
