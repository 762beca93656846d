"""Every cell-level method in the NAS-Bench-201 space: one epoch each as real Ray Tune trials, DARTS-PD's
stages and their resume, the result files, the config and the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hiernas.darts.config import METHODS, DartsConfig
from hiernas.darts.search import run_darts_search
from hiernas.darts.supernets import search_network_size
from hiernas.nb201.outputs import write_nb201_outputs
from spaces.nb201 import parse_arch

ROOT = Path(__file__).resolve().parents[2]


def test_every_method_runs_one_epoch_as_a_tune_trial(
    ray_session: None, tmp_path: Path, nb201_config: Callable[..., DartsConfig]
) -> None:
    from ray import tune

    from hiernas.tune.trainables import darts_trainable

    # one Tune run, one trial per method (the tiny config's other settings are the same for all)
    param_space = {**nb201_config("darts", pdarts_cells=(1, 1, 1)).to_dict(), "method": tune.grid_search(list(METHODS))}
    tuner = tune.Tuner(
        darts_trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(reuse_actors=True),  # one actor per CPU for all trials: no start-up each
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    )
    results = tuner.fit()
    assert len(results) == len(METHODS)
    for result in results:
        method = result.config["method"]
        assert result.error is None, method
        metrics = result.metrics
        assert metrics["final"] is True and result.checkpoint is not None
        assert "genotype" not in metrics
        assert parse_arch(metrics["arch"]).arch_str == metrics["arch"]
        assert len(metrics["alpha_cell"]) == 6 and len(metrics["alpha_cell"][0]) == 5  # P-DARTS: full width
        assert ("beta_cell" in metrics) == (method in ("pcdarts", "darts-pd"))  # DARTS-PD builds on PC-DARTS
        assert metrics["stage"] == {"darts-pd": "evolution", "pdarts": "pdarts-3"}.get(method, "search")
        if method == "gdas":
            assert metrics["temperature"] == pytest.approx(10.0)


def test_darts_pd_stages_resume_and_write_their_files(
    tmp_path: Path, nb201_config: Callable[..., DartsConfig]
) -> None:
    cfg = nb201_config("darts-pd", base_method="darts", fair_epochs=2)
    reports: list[tuple[dict[str, Any], Any]] = []
    final = run_darts_search(cfg, lambda m, s: reports.append((m, s)))
    assert [m["stage"] for m, _ in reports] == ["search", "fair", "fair", "evolution"]
    kept = json.loads(final["pd_kept"])["kept"]
    assert len(kept) == 6 and all(len(ops) == cfg.prune_k for ops in kept)
    selected = json.loads(final["pd_architectures"])
    assert final["arch"] == selected[0]["arch"] and len({a["params"] for a in selected}) == len(selected)
    for a in selected:  # every selected cell is a path of the pruned supernet
        assert all(op in ops for op, ops in zip(parse_arch(a["arch"]).ops, kept, strict=True))
    resumed: list[dict[str, Any]] = []
    again = run_darts_search(cfg, lambda m, s: resumed.append(m), resume=reports[1][1])  # after fair epoch 1
    assert [m["stage"] for m in resumed] == ["fair", "evolution"]
    assert again["arch"] == final["arch"] and again["pd_kept"] == final["pd_kept"]
    assert again["val_acc"] == pytest.approx(final["val_acc"])
    paths = write_nb201_outputs(tmp_path, final, prefix="seed0_")
    assert json.loads(paths["arch"].read_text())["arch"] == final["arch"]
    assert "rank,val_acc,params,arch" in paths["tradeoff_csv"].read_text()
    for kind in ("alpha_png", "tradeoff_png"):
        assert paths[kind].read_bytes()[:4] == b"\x89PNG"


def test_config_round_trips_and_checks_the_space() -> None:
    cfg = DartsConfig.for_method("gdas", space="nb201", nb201_cells=3)
    assert DartsConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.arch_key == "arch" and DartsConfig().arch_key == "genotype"
    with pytest.raises(ValueError, match="unknown space"):
        DartsConfig(space="nasbench101")
    with pytest.raises(ValueError, match="nb201_cells"):
        DartsConfig(space="nb201", nb201_cells=0)
    assert DartsConfig.for_method("darts-pd", space="nb201", prune_k=5).prune_k == 5  # `none` is kept too
    with pytest.raises(ValueError, match="prune_k"):
        DartsConfig.for_method("darts-pd", space="nb201", prune_k=6)
    text = search_network_size(DartsConfig(space="nb201", data={"dataset": "cifar10"}))
    assert "NAS-Bench-201 cells, 5 per stage" in text


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)


def test_command_line_prints_an_architecture_string(tmp_path: Path) -> None:
    results = tmp_path / "out"
    proc = _run([
        "scripts/darts_search.py", "--space", "nb201", "--method", "gdas", "--dataset", "synthetic",
        "--batch-size", "8", "--limit", "64", "--epochs", "1", "--channels", "4", "--nb201-cells", "1",
        "--max-steps-per-epoch", "2", "--no-dashboard", "--results", str(results),
    ])
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("#1 "))
    arch = line.split()[-1]
    assert parse_arch(arch).arch_str == arch
    assert json.loads((results / "arch.json").read_text())["arch"] == arch
    assert "arch.json" in proc.stdout


@pytest.mark.parametrize(
    "args,expected",
    [
        (["scripts/darts_search.py", "--space", "nb201", "--method", "darts", "--layers", "3"], "--layers"),
        (["scripts/darts_search.py", "--method", "darts", "--nb201-cells", "3"], "--nb201-cells"),
        (["scripts/train_final.py", "--genotype", "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"],
         "nas-bench-201"),
    ],
)
def test_refusals_are_one_line_and_exit_2(args: list[str], expected: str, tmp_path: Path) -> None:
    proc = _run([*args, "--params-only", "--results", str(tmp_path / "out")])
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and expected in lines[0].lower(), proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()
