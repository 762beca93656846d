"""The checkpoint convention of every trainer (hyper-architecture, cell-level search, genotype training).

A checkpoint is a plain dict: ``epoch`` (epochs done), ``last_metrics`` (the last report) and named parts
(state dicts, RNG states). A trainer names its parts once, as ``Part``s (how to save, how to load back),
and hands the same mapping to ``snapshot`` and ``resume_from``: a part is saved if and only if it is
restored. ``snapshot`` deep-copies, because ``state_dict()`` tensors are live views that the next step
would overwrite; a trial restored from its final checkpoint reports its result again (after a driver
crash Tune may have lost that report).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import torch

State = dict[str, Any]
Report = Callable[[dict[str, Any], State | None], None]


class _Stateful(Protocol):
    def state_dict(self) -> Any: ...

    def load_state_dict(self, state: Any) -> Any: ...


@dataclass(frozen=True)
class Part:
    """One named piece of a checkpoint: ``save()`` returns it, ``load(value)`` puts it back."""

    save: Callable[[], Any]
    load: Callable[[Any], Any]

    @classmethod
    def of(cls, obj: _Stateful) -> Part:
        """A module's or optimiser's state dict."""
        return cls(obj.state_dict, obj.load_state_dict)

    @classmethod
    def rng(cls, generator: torch.Generator) -> Part:
        """A torch generator's state."""
        return cls(generator.get_state, generator.set_state)


TORCH_RNG = Part(torch.get_rng_state, torch.set_rng_state)  # torch's global generator (weight init, noise)
Parts = Mapping[str, Part]


def snapshot(epoch: int, metrics: Mapping[str, Any], parts: Parts) -> State:
    """A checkpoint dict of every part after ``epoch`` epochs, deep-copied."""
    return copy.deepcopy({"epoch": epoch, "last_metrics": dict(metrics), **{k: p.save() for k, p in parts.items()}})


def load_parts(state: State, parts: Parts) -> None:
    """Load every part of ``parts`` from ``state`` (a checkpoint written with the same parts)."""
    missing = sorted(set(parts) - set(state))
    if missing:
        raise ValueError(f"checkpoint lacks the part(s) {missing}; it holds {sorted(state)}")
    for key, part in parts.items():
        part.load(state[key])


def resume_from(resume: State | None, parts: Parts, report: Report, epochs: int) -> tuple[int, dict[str, Any], bool]:
    """Load ``parts`` from ``resume``; returns (epochs done, last metrics, finished).

    Without a checkpoint: ``(0, {}, False)``. From a final checkpoint (``last_metrics["final"]``) that
    covers the ``epochs`` the config asks for, its metrics are reported again, without a new checkpoint,
    and ``finished`` is True; a final checkpoint of a shorter run is continued instead.
    """
    if resume is None:
        return 0, {}, False
    load_parts(resume, parts)
    done, metrics = int(resume["epoch"]), dict(resume["last_metrics"])
    if metrics.get("final") and done >= epochs:
        report(metrics, None)
        return done, metrics, True
    return done, metrics, False
