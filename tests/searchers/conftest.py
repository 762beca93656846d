"""Fixtures of the searcher tests: one small local Ray instance for the Tune runs of this directory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """``ray.init`` with 2 CPUs, no dashboard and a small object store; shut down at the end."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 2**20, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()
