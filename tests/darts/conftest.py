"""Shared tiny fixtures for the DARTS-family tests (tiny channels, cells and batches; synthetic data)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from hiernas.darts_search import DartsConfig

TINY: dict[str, Any] = {
    "channels": 4,
    "layers": 3,
    "steps": 2,
    "epochs": 1,
    "max_steps_per_epoch": 2,
    "fair_epochs": 1,
    "es_population": 4,
    "es_generations": 1,
    "num_architectures": 2,
    "eval_channels": 8,
    "eval_layers": 5,
    "data": {"dataset": "synthetic", "batch_size": 8, "synthetic_size": 64, "synthetic_shape": [3, 8, 8]},
}


def _tiny_config(method: str, **overrides: Any) -> DartsConfig:
    """A method's config scaled down to seconds on one CPU core."""
    return DartsConfig.for_method(method, **{**TINY, "warmup_epochs": 0, **overrides})


@pytest.fixture
def tiny_config() -> Callable[..., DartsConfig]:
    return _tiny_config


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)
