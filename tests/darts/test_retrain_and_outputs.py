"""Training a genotype from scratch, and the result files of a search."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from hiernas.darts.config import DartsConfig, EvalConfig
from hiernas.darts.eval_network import EvalNetwork
from hiernas.darts.plots import write_search_outputs
from hiernas.darts.retrain import run_final_training
from hiernas.darts.search import run_darts_search
from hiernas.darts.skeleton import count_parameters
from spaces.darts import DARTS_V2, genotype_from_json

DATA = {"dataset": "synthetic", "batch_size": 8, "synthetic_size": 64, "synthetic_shape": [1, 8, 8]}


def test_final_training_reports_test_accuracy_and_resumes() -> None:
    cfg = EvalConfig(
        genotype=DARTS_V2.to_json(),
        data=DATA,
        channels=4,
        layers=3,
        epochs=2,
        cutout_length=2,
        max_steps_per_epoch=2,
    )
    reports: list[tuple[dict[str, Any], Any]] = []
    final = run_final_training(cfg.to_dict(), lambda m, s: reports.append((m, s)))
    assert final["final"] and 0.0 <= final["test_acc"] <= 1.0 and len(reports) == 2
    with torch.device("meta"):
        expected = count_parameters(EvalNetwork(DARTS_V2, 1, 10, 4, 3, auxiliary=True))
    assert final["num_params"] == expected
    resumed: list[tuple[dict[str, Any], Any]] = []
    run_final_training(cfg, lambda m, s: resumed.append((m, s)), resume=reports[0][1])
    assert resumed[0][0]["test_loss"] == pytest.approx(reports[1][0]["test_loss"], abs=1e-6)


def test_eval_config_validates_the_genotype() -> None:
    with pytest.raises(ValueError, match="unknown operation"):
        EvalConfig(genotype={**DARTS_V2.to_json(), "normal": [["conv_9x9", 0]] * 8})
    with pytest.raises(ValueError, match="unknown EvalConfig key"):
        EvalConfig.from_dict({"genotype": DARTS_V2.to_json(), "dropout": 0.1})


def test_auxiliary_head_is_excluded_from_the_count() -> None:
    with torch.device("meta"):
        with_aux = EvalNetwork(DARTS_V2, 3, 10, 8, 5, auxiliary=True)
        without = EvalNetwork(DARTS_V2, 3, 10, 8, 5, auxiliary=False)
    assert count_parameters(with_aux) == count_parameters(without)
    assert sum(p.numel() for p in with_aux.parameters()) > count_parameters(with_aux)


def test_search_outputs_are_written(tmp_path: Path, tiny_config: Callable[..., DartsConfig]) -> None:
    final = run_darts_search(tiny_config("darts-pd", epochs=2, warmup_epochs=1), lambda m, s: None)
    paths = write_search_outputs(tmp_path, final, warmup_epochs=1)
    assert genotype_from_json(json.loads(paths["genotype"].read_text())).to_json() == json.loads(
        final["genotype"]
    )
    assert len(json.loads(paths["alpha_json"].read_text())) == 2
    assert "rank,val_acc,params,genotype" in paths["tradeoff_csv"].read_text()
    for kind in ("cells", "alpha_png", "tradeoff_png"):
        assert paths[kind].read_bytes()[:4] == b"\x89PNG"
