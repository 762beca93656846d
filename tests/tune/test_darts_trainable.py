"""Every cell-level method runs one epoch as a real Ray Tune trial through ``darts_trainable``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from hiernas.darts.config import DartsConfig
from spaces.darts import genotype_from_json


@pytest.mark.parametrize("method", ["darts", "darts2", "pcdarts", "gdas", "darts-pd"])
def test_method_runs_as_a_tune_trial(
    method: str, ray_session: None, tmp_path: Any, tiny_config: Callable[..., DartsConfig]
) -> None:
    from ray import tune

    from hiernas.tune.trainables import darts_trainable

    tuner = tune.Tuner(
        darts_trainable,
        param_space=tiny_config(method).to_dict(),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    )
    result = tuner.fit()[0]
    assert result.error is None
    assert result.metrics["final"] is True and result.checkpoint is not None
    genotype = result.metrics["genotype"]
    genotype_from_json(json.loads(genotype) if isinstance(genotype, str) else genotype)
