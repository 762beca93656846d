"""Frozen configuration dataclasses that round-trip through Ray Tune's ``param_space`` and JSON.

``ConfigBase`` is the one base of every config (FaDE trials, cell-level DARTS searches, genotype
training): ``to_dict`` gives a nested, JSON-able dict (tuples become lists, nested configs dicts);
``from_dict`` rebuilds it, nested configs included, and rejects unknown keys by name, so a typo in a
search space fails loudly instead of being ignored. ``DataConfig`` is the data part every trial shares.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

T = TypeVar("T", bound="ConfigBase")

DATASETS = ("digits", "cifar10", "synthetic")
AMP_MODES = ("off", "bf16", "fp16")  # mixed precision of a trial (hiernas.device.Precision)


def check_amp(mode: str) -> str:
    """``mode`` if it is one of ``AMP_MODES``, else a ValueError naming it."""
    if mode not in AMP_MODES:
        raise ValueError(f"amp must be one of {list(AMP_MODES)}, got {mode!r}")
    return mode


def _to_json(value: Any) -> Any:
    """Nested configs to dicts, tuples to lists (JSON has no tuples), everything else as it is."""
    if isinstance(value, ConfigBase):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    return value


def _to_tuple(value: Any) -> Any:
    """Lists (from JSON or Tune) back to tuples, recursively, so frozen configs stay hashable."""
    if isinstance(value, list | tuple):
        return tuple(_to_tuple(v) for v in value)
    return value


class ConfigBase:
    """Mixin for frozen dataclasses: ``to_dict`` / ``from_dict`` / ``replace``, nested configs included.

    A field whose annotation is a ``ConfigBase`` subclass is nested: ``to_dict`` writes it as a dict and
    ``from_dict`` (and the constructor, through ``__post_init__`` of subclasses that call
    ``super().__post_init__()``) accepts either the config or its dict.
    """

    @classmethod
    @functools.cache
    def nested_fields(cls) -> dict[str, type[ConfigBase]]:
        """Field name -> config class, for the fields that hold a nested config."""
        hints = typing.get_type_hints(cls)
        return {
            f.name: hints[f.name]
            for f in fields(cls)  # type: ignore[arg-type]
            if isinstance(hints.get(f.name), type) and issubclass(hints[f.name], ConfigBase)
        }

    def __post_init__(self) -> None:
        for name, config_cls in self.nested_fields().items():
            value = getattr(self, name)
            if isinstance(value, Mapping):
                object.__setattr__(self, name, config_cls.from_dict(value))

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _to_json(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any] | None) -> T:
        data = dict(data or {})
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} key(s) {unknown}; allowed: {sorted(known)}")
        nested = cls.nested_fields()
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            if name in nested and isinstance(value, Mapping):
                kwargs[name] = nested[name].from_dict(value)
            else:
                kwargs[name] = _to_tuple(value)
        return cls(**kwargs)

    def replace(self: T, **changes: Any) -> T:
        """Return a copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class DataConfig(ConfigBase):
    """Which data set to load and how to split and batch it."""

    dataset: str = "digits"  # digits (embedded, sklearn) | cifar10 (python batches) | synthetic
    data_dir: str | None = None  # directory holding the CIFAR-10 python batches
    download: bool = False  # fetch CIFAR-10 with torchvision when the batches are missing
    batch_size: int = 128  # FaDE paper: batches of 128
    split: tuple[int, int, int] = (1, 1, 4)  # FaDE: test : architecture : weights
    limit: int | None = None  # use only the first ``limit`` samples (after shuffling); None = all
    split_seed: int | None = 0  # shuffles the data before the split; None: the trial's seed (one split per seed)
    synthetic_size: int = 256  # samples generated for the synthetic set
    synthetic_shape: tuple[int, int, int] = (3, 8, 8)  # (C, H, W) of the synthetic images
    synthetic_classes: int = 10

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; expected one of {list(DATASETS)}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if len(self.split) != 3 or any(int(p) < 1 for p in self.split):
            raise ValueError(f"split must be three positive parts (test, arch, weights), got {self.split}")

    def split_seed_for(self, trial_seed: int) -> int:
        """The seed of the split a trial seeded ``trial_seed`` uses: fixed, so that seeds vary only the
        initialisation and the batches, not which images are tested (unless ``split_seed`` is None)."""
        return trial_seed if self.split_seed is None else self.split_seed
