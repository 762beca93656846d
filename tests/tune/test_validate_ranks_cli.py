"""``scripts/validate_ranks.py`` on DAG cells end to end through Ray Tune, on generated data: every rank
source beside the ground truth's bounds, and the result files."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "validate_ranks.py"


def test_every_rank_source_is_measured_against_stand_alone_training(tmp_path: Path) -> None:
    results = tmp_path / "out"
    argv = [sys.executable, str(SCRIPT), "--dataset", "synthetic", "--depth", "2", "--epochs", "1", "--repeats", "2",
            "--paths", "4", "--standalone-epochs", "1", "--standalone-seeds", "2", "--no-dashboard",
            "--results", str(results)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((results / "rank_validation.json").read_text())
    assert set(summary["sources"]) == {"alpha", "alpha_rows", "pathwise", "perturbation", "perturbation_loss"}
    for name, source in summary["sources"].items():
        assert source["agreement"] is None or -1 <= source["agreement"] <= 1, name
        assert source["spearman_rho"] is None or -1 <= source["spearman_rho"] <= 1, name
        assert name in proc.stdout
    with (results / "paths.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 4 and all(r["perturbation_score"] and r["perturbation_loss_score"] for r in rows)
    assert all(len(p["test_acc_per_seed"]) == 2 for p in summary["paths"])
    scored = {tuple(p) for p in summary["trial_config"]["train"]["scored_paths"]}  # 25 paths: all of them
    assert len(scored) == len(summary["graphs"]) ** 2 and summary["trial_config"]["train"]["eval_paths"] == 0
    assert all(tuple(int(k) for k in p["path"].split("-")) in scored for p in summary["paths"])
    assert (results / "rank_scatter.png").stat().st_size > 0 and "ceiling" in summary
    per_repeat = summary["cell_scores_per_repeat"]["perturbation"]  # repeats x depth x window
    assert np.asarray(per_repeat).shape == (2, 2, len(summary["graphs"]))
    mean = np.mean(per_repeat, axis=0)
    for record in summary["paths"]:  # a path's score is its cells' scores averaged over the repeats, summed
        cells = [int(k) for k in record["path"].split("-")]
        assert record["perturbation_score"] == pytest.approx(sum(mean[i, k] for i, k in enumerate(cells)))
    for name, source in summary["sources"].items():
        bounds = source["spearman_interval"]
        assert bounds is None or -1 <= bounds[0] <= bounds[1] <= 1, name
        assert len(source["rho_repeat_halves"]) == 2, name  # one repeat per half
