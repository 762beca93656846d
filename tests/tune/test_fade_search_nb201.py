"""``fade_search.py --space nb201 --benchmark-table``: FaDE over NAS-Bench-201 cells, trained for real on
Ray Tune, with the table's accuracy of every iteration's best path and of the final path in the results."""

from __future__ import annotations

import csv
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

from spaces.nb201 import OPS, Nb201Cell

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "fade_search.py"


def write_table(path: Path) -> dict[str, float]:
    """A made-up table of every cell: accuracy grows with the 3x3 convolutions."""
    table = {}
    for ops in itertools.product(OPS, repeat=6):
        table[Nb201Cell(ops).arch_str] = round(50 + 7 * ops.count("nor_conv_3x3") + ops.count("skip_connect"), 2)
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["arch", "made_up_acc"])
        writer.writerows(table.items())
    return table


def test_fade_over_nb201_cells_reports_the_benchmark_accuracy(tmp_path: Path) -> None:
    table = write_table(tmp_path / "table.csv")
    results = tmp_path / "out"
    argv = [sys.executable, str(SCRIPT), "--space", "nb201", "--benchmark-table", str(tmp_path / "table.csv"),
            "--dataset", "synthetic", "--depth", "1", "--window", "4", "--iterations", "2", "--repeats", "1",
            "--epochs", "1", "--final-epochs", "1", "--final-seeds", "2", "--race-paths", "0", "--seed", "1",
            "--no-dashboard",
            "--results", str(results)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((results / "search.json").read_text())
    assert len(record["iterations"]) == 2
    for iteration in record["iterations"]:
        cell = iteration["cells"][0][iteration["best_path"][0]]
        assert iteration["benchmark"]["archs"] == [cell]
        assert iteration["benchmark"]["accuracy"] == [table[cell]]
        assert iteration["benchmark"]["column"] == "made_up_acc"
        assert "not trained here" in iteration["benchmark"]["note"]
    best = json.loads((results / "best.json").read_text())
    assert best["benchmark"]["accuracy"] == [table[best["cells"][0]]]
    # the final path trained twice, seeds apart: test_acc is the mean of the two
    assert best["final_seeds"] == [1, 2] and len(best["final_test_accs"]) == 2
    assert abs(best["test_acc"] - sum(best["final_test_accs"]) / 2) < 1e-12


def test_a_benchmark_table_needs_the_nb201_space(tmp_path: Path) -> None:
    write_table(tmp_path / "table.csv")
    argv = [sys.executable, str(SCRIPT), "--benchmark-table", str(tmp_path / "table.csv"), "--no-dashboard",
            "--results", str(tmp_path / "out")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "--space nb201" in proc.stderr
    assert not (tmp_path / "out").exists()
