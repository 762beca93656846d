"""``bench/nb201_darts.py`` end to end with tiny settings: a real Tune search in the NAS-Bench-201 space on
generated data (one method: they share the bench's code path), the derived cell looked up in a made-up table,
readable files."""

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
SCRIPT = ROOT / "bench" / "nb201_darts.py"


def test_a_method_is_searched_and_looked_up(tmp_path: Path) -> None:
    table = {}
    with (tmp_path / "table.csv").open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["arch", "acc"])
        for ops in itertools.product(OPS, repeat=6):
            table[Nb201Cell(ops).arch_str] = 50.0 + 7 * ops.count("nor_conv_3x3")
            writer.writerow([Nb201Cell(ops).arch_str, table[Nb201Cell(ops).arch_str]])
    out = tmp_path / "out"
    argv = [sys.executable, str(SCRIPT), "--table", str(tmp_path / "table.csv"), "--dataset", "synthetic",
            "--methods", "gdas", "--seeds", "1", "--epochs", "1", "--warmup-epochs", "0", "--channels", "4",
            "--steps-per-epoch", "2", "--out", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["methods"]) == {"gdas"} and summary["table"]["optimum"] == 92.0
    for row in summary["methods"].values():
        assert row["table_acc_mean"] == table[row["archs"][0]] and sum(row["operations"].values()) == 6
        assert row["config"]["space"] == "nb201" and row["config"]["nb201_cells"] == 1
    assert summary["methods"]["gdas"]["published"] == {"mean": 93.61, "std": 0.09}
    assert (out / "runs.csv").exists() and (out / "operations.png").stat().st_size > 0


def test_an_unknown_method_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("arch,acc\n")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--table", str(tmp_path / "t.csv"), "--methods", "enas"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "enas" in proc.stderr
