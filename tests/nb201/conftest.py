"""NAS-Bench-201 cell-level tests: one torch thread, and the tiny DARTS configs moved to the NB201 space."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from hiernas.darts.config import DartsConfig

NB201_TINY: dict[str, Any] = {"space": "nb201", "channels": 4, "nb201_cells": 1}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture
def nb201_config(tiny_config: Callable[..., DartsConfig]) -> Callable[..., DartsConfig]:
    """``tiny_config`` (tests/conftest.py) in the NB201 space: C=4, one cell per stage, 8x8 synthetic data."""
    return lambda method, **overrides: tiny_config(method, **{**NB201_TINY, **overrides})
