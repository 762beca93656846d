"""The DARTS-family tests run on one torch thread (tiny networks: threads only add overhead)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)
