"""Every cell-level method runs one epoch as a real Ray Tune trial through ``darts_trainable`` (DARTS space;
the NAS-Bench-201 space: tests/nb201/test_nb201_search.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hiernas.darts.config import METHODS, DartsConfig
from spaces.darts import genotype_from_json


def test_every_method_runs_as_a_tune_trial(
    ray_session: None, tmp_path: Any, tiny_config: Callable[..., DartsConfig]
) -> None:
    from ray import tune

    from hiernas.tune.trainables import darts_trainable

    # one Tune run, one trial per method (P-DARTS: three small stages of one epoch each)
    base = tiny_config("darts", pdarts_cells=(1, 2, 3)).to_dict()
    tuner = tune.Tuner(
        darts_trainable,
        param_space={**base, "method": tune.grid_search(list(METHODS))},
        tune_config=tune.TuneConfig(reuse_actors=True),  # one actor per CPU for all trials: no start-up each
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    )
    results = tuner.fit()
    assert sorted(r.config["method"] for r in results) == sorted(METHODS)
    for result in results:
        method = result.config["method"]
        assert result.error is None, method
        assert result.metrics["final"] is True and result.checkpoint is not None, method
        genotype = result.metrics["genotype"]
        genotype_from_json(json.loads(genotype) if isinstance(genotype, str) else genotype)
        epochs = 3 if method == "pdarts" else 1
        assert result.metrics["epoch"] == epochs + (2 if method == "darts-pd" else 0), method
