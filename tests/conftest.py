"""Shared fixtures: one small real Ray session for every test that runs Tune trials, tiny DARTS configs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hiernas.darts.config import DartsConfig

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """A real, new local ``ray.init`` on 2 CPUs without the dashboard (about 2.4 s), shut down at the end.

    ``address="local"``: never the cluster a ``ray start`` on this machine left behind.
    """
    import ray

    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=80 * 2**20,
                 log_to_driver=False)
    yield
    ray.shutdown()


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
