"""The result files of a completed search: what ``best.json`` hands to final training is the searcher's
final choice (for DARTS-PD's evolution, the path of best path-wise validation accuracy of the search)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hiernas.fade.outputs import trajectory_rows

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "fade_search.py"


def testtrajectory_rows_hold_every_start_anchor_and_the_final_one() -> None:
    history = [
        {"iteration": 0, "anchors_before": [[0.1, 0.2], [0.3, 0.4]], "anchors_after": [[0.2, 0.2], [0.3, 0.5]]},
        {"iteration": 1, "anchors_before": [[0.2, 0.2], [0.3, 0.5]], "anchors_after": [[0.4, 0.1], [0.3, 0.6]]},
    ]
    rows = trajectory_rows(history)
    assert [(r["iteration"], r["row"]) for r in rows] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    assert [r["f0"] for r in rows] == [0.1, 0.3, 0.2, 0.3, 0.4, 0.3]
    assert [r["f1"] for r in rows[-2:]] == [0.1, 0.6]
    assert trajectory_rows([{"iteration": 0, "paths": []}]) == []  # evolution and random have no anchors


def test_evolution_search_picks_the_best_validated_path_of_all_iterations(tmp_path: Path) -> None:
    results = tmp_path / "out"
    args = [
        "--searcher", "evolution", "--dataset", "synthetic", "--depth", "2", "--window", "3", "--iterations", "2",
        "--repeats", "1",
        "--epochs", "1", "--final-epochs", "0", "--race-paths", "0", "--seed", "5", "--no-dashboard",
        "--results", str(results),
    ]
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    search = json.loads((results / "search.json").read_text())
    best = json.loads((results / "best.json").read_text())
    evaluated = [
        (path["val_acc"], record["iteration"], path["indices"], record["cells"])
        for record in search["iterations"]
        for path in record["paths"]
    ]
    assert len(search["iterations"]) == 2 and evaluated
    top_acc = max(acc for acc, *_ in evaluated)
    winners = [(it, idx, cells) for acc, it, idx, cells in evaluated if acc == top_acc]
    iteration, indices, cells = min(winners, key=lambda w: w[0])  # ties: the earliest iteration
    assert best["found"] is True and best["score"] == top_acc
    assert best["iteration"] == iteration and best["indices"] == indices
    assert best["cells"] == [cells[row][j] for row, j in enumerate(indices)]
    assert "test_acc" not in best  # --final-epochs 0: no stand-alone training
    assert (results / "progress.png").stat().st_size > 0 and not (results / "trajectories.csv").exists()
