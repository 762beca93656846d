"""What a batch searcher's state is made of, and how it is written: slots, the state format, JSON files.

A ``Slot`` is one trial of the current batch (``PENDING`` until handed out, ``LIVE`` while its trial
runs, then ``DONE`` or ``FAILED``). ``BatchSearcher.get_state`` assembles its state (format
``STATE_FORMAT``) from slots and proposals in their JSON form; ``set_state`` checks its settings with
``check_settings`` and reads the pieces back with the ``*_from_json`` functions. ``write_json_atomic``
never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from searchers.records import Proposal, to_json

__all__ = [
    "DONE",
    "FAILED",
    "LIVE",
    "PENDING",
    "STATE_FORMAT",
    "Slot",
    "check_settings",
    "generator_from_json",
    "proposal_from_json",
    "proposal_to_json",
    "write_json_atomic",
]

STATE_FORMAT = "hiernas.batch_searcher/1"
PENDING, LIVE, DONE, FAILED = "pending", "live", "done", "failed"


@dataclass
class Slot:
    """One trial of the current batch (mutable bookkeeping, not a parameter bundle)."""

    config: dict[str, Any]
    status: str = PENDING
    trial_ids: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The slot as a dict (config and result are JSON already)."""
        return {"config": self.config, "status": self.status, "trial_ids": self.trial_ids, "result": self.result}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Slot:
        """Inverse of ``to_json``."""
        return cls(
            config=obj["config"], status=obj["status"], trial_ids=list(obj["trial_ids"]), result=obj["result"]
        )


def proposal_to_json(proposal: Proposal | None) -> dict[str, Any] | None:
    """A proposal as a dict (its parts are JSON already); None stays None."""
    if proposal is None:
        return None
    return {"cells": proposal.cells, "plan": proposal.plan, "extra_config": proposal.extra_config}


def proposal_from_json(obj: Mapping[str, Any] | None) -> Proposal | None:
    """Inverse of ``proposal_to_json``."""
    if obj is None:
        return None
    return Proposal(cells=obj["cells"], plan=obj["plan"], extra_config=obj["extra_config"])


def generator_from_json(state: Mapping[str, Any]) -> np.random.Generator:
    """A numpy generator in the saved ``bit_generator.state``."""
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def check_settings(saved: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
    """A ValueError unless every one of ``settings`` equals its saved value (saved extras are ignored)."""
    mismatched = {
        key: (saved.get(key), value) for key, value in settings.items() if to_json(value) != saved.get(key)
    }
    if mismatched:
        raise ValueError(f"searcher settings differ from the saved state (saved, current): {mismatched}")


def write_json_atomic(path: str, obj: Any) -> None:
    """Write ``obj`` as JSON atomically (temp file in the same directory, then ``os.replace``)."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temp_path = tempfile.mkstemp(prefix=".searcher-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(obj, stream)
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.unlink(temp_path)
        raise
