"""``bench/nb201_search.py`` end to end with tiny settings (real Tune runs of every searcher, a made-up table)."""

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
SCRIPT = ROOT / "bench" / "nb201_search.py"


def write_table(path: Path) -> None:
    """Every cell (the searchers may propose any): accuracy grows with the 3x3 convolutions."""
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["arch", "made_up_acc"])
        for ops in itertools.product(OPS, repeat=6):
            writer.writerow([Nb201Cell(ops).arch_str, 60 + 5 * ops.count("nor_conv_3x3") + ops.count("skip_connect")])


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=600, env=env)


def test_smoke_run_writes_the_summary(tmp_path: Path) -> None:
    write_table(tmp_path / "table.csv")
    out = tmp_path / "out"
    # our hyper-architecture searchers share one code path: fade stands for them (random and evolution run
    # on the tabular trainable in tests/tune/test_tabular.py and the stub in tests/searchers)
    proc = run("--table", str(tmp_path / "table.csv"), "--seeds", "1", "--budgets", "12", "20", "--noise", "0",
               "--match-agreement", "none", "--out", str(out), "--cpus", "1",
               "--searchers", "fade", "rea", "optuna", "tune-random")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "counts as 6 evaluations" in proc.stdout and "agreement 1.000" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= {"settings", "table", "noise_levels", "summary", "comparison", "tune", "counting"}
    assert summary["table"]["optimum"] == 90.0
    assert set(summary["summary"]) == {"fade", "rea", "optuna", "tune-random"}
    for name, budgets in summary["summary"].items():
        assert set(budgets) == {"12", "20"}
        entry = budgets["20"]["0"]
        assert {"mean", "std", "n", "regret_mean"} <= set(entry) and entry["n"] == 1
        assert 60 <= entry["mean"] <= 90 and entry["regret_mean"] == 90 - entry["mean"]
        assert entry["evaluations"] == ([18] if name == "fade" else [20])
    comparison = summary["comparison"]["20"]["0"]
    assert comparison["ours"] == "fade" and "p_two_sided" in comparison
    assert all(cost["trials_per_s"] > 0 for cost in summary["tune"].values())
    with (out / "runs.csv").open() as stream:
        assert len(list(csv.DictReader(stream))) == 4 * 2
    assert (out / "trajectories.png").stat().st_size > 0 and (out / "trajectories.csv").exists()
    assert not (out / "ray").exists()


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    partial = tmp_path / "partial.csv"
    partial.write_text("arch,acc\n" + f"{Nb201Cell(('none',) * 6).arch_str},10\n")
    proc = run("--table", str(partial), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "covers 1 of the 15625" in proc.stderr
    assert not (tmp_path / "out" / "summary.json").exists()
