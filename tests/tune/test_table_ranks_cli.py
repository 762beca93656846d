"""``validate_ranks.py --space nb201 --benchmark-table``: real Tune trainings of NAS-Bench-201 cells, ranked
against a table (made up here), written to readable files."""

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
SCRIPT = ROOT / "scripts" / "validate_ranks.py"


def test_ranks_against_a_benchmark_table(tmp_path: Path) -> None:
    with (tmp_path / "table.csv").open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["arch", "acc"])
        for k, ops in enumerate(itertools.islice(itertools.product(OPS, repeat=6), 0, 5000, 97)):
            writer.writerow([Nb201Cell(ops).arch_str, 40 + k % 50])
    results = tmp_path / "out"
    argv = [sys.executable, str(SCRIPT), "--space", "nb201", "--benchmark-table", str(tmp_path / "table.csv"),
            "--cells", "4", "--repeats", "2", "--epochs", "1", "--dataset", "synthetic", "--no-dashboard",
            "--results", str(results)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((results / "table_ranks.json").read_text())
    assert len(summary["cells"]) == 4 and set(summary["sources"]) == {"alpha", "alpha_rows", "pathwise", "perturbation",
                                                                 "perturbation_loss"}
    assert all(-1 <= s["spearman_rho"] <= 1 for s in summary["sources"].values() if s["spearman_rho"] is not None)
    assert (results / "table_cells.csv").exists() and (results / "table_rank_scatter.png").stat().st_size > 0
    assert "Spearman rho" in proc.stdout


def test_the_nb201_rank_check_needs_a_table(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--space", "nb201", "--results", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "--benchmark-table" in proc.stderr and proc.stderr.strip().count("\n") == 0
