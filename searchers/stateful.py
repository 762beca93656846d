"""``StatefulSearcher``: what every searcher here adds to Ray Tune's ``Searcher``, written once.

A searcher walks a cell space with its own seeded generator, takes metric and mode from the ``TuneConfig``
when given, and keeps its whole state as explicit JSON (``get_state``/``set_state``, ``save``/``restore``,
atomic): a format name, the class, the settings a restore must match, metric, mode and the generator,
then the searcher's own progress. ``BatchSearcher`` (hyper-architectures, ``searchers.base``) and
``REASearcher`` (one cell per trial, ``searchers.rea``) build on it; their saved formats are unchanged.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping
from typing import Any, ClassVar, TypedDict

import numpy as np
from ray.tune.search.searcher import Searcher

from searchers.records import check_int, to_json
from searchers.state import generator_from_json, write_json_atomic
from spaces.base import CellSpace

__all__ = ["SearchOptions", "StatefulSearcher", "check_mode"]


class SearchOptions(TypedDict, total=False):
    """The keyword options every searcher takes (defaults: ``StatefulSearcher.__init__``)."""

    metric: str  # the reported metric a trial is judged by
    mode: str  # "max" or "min"
    seed: int  # seeds the searcher's generator


def check_mode(mode: object) -> None:
    """A ValueError unless ``mode`` is ``"min"`` or ``"max"`` (Tune's two directions)."""
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")


class StatefulSearcher(Searcher, abc.ABC):
    """A Tune searcher over a cell space with a seeded generator and an explicit, atomically saved JSON state."""

    STATE_FORMAT: ClassVar[str]  # the name and version of the saved state's layout
    SETTINGS: ClassVar[tuple[str, ...]]  # attributes a saved state must have been saved with, in order

    def __init__(
        self, space: CellSpace[Any], *, metric: str = "val_acc", mode: str = "max", seed: int = 0
    ) -> None:
        self.seed = check_int("seed", seed, 0)
        check_mode(mode)
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"metric must be a non-empty string, got {metric!r}")
        super().__init__(metric=metric, mode=mode)
        self.space = space
        self._rng = np.random.default_rng(self.seed)

    # ------------------------------------------------------------ subclass hooks

    @abc.abstractmethod
    def _progress_state(self) -> dict[str, Any]:
        """Where the search stands (after the common keys of ``get_state``); JSON-able after ``to_json``."""

    @abc.abstractmethod
    def _set_progress_state(self, state: Mapping[str, Any]) -> None:
        """Inverse of ``_progress_state``, from the whole saved state (a KeyError for a missing key)."""

    @abc.abstractmethod
    def _check_settings(self, saved: Mapping[str, Any]) -> None:
        """A ValueError unless the saved settings fit this searcher's ``_all_settings``."""

    # ------------------------------------------------------------ Tune protocol

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[Any, Any], **spec: Any
    ) -> bool:
        """Take metric and mode from the ``TuneConfig`` when given; the param_space is Tune's to merge."""
        if mode is not None:
            check_mode(mode)
        if metric:
            self._metric = metric
        if mode:
            self._mode = mode
        return True

    # ------------------------------------------------------------ state

    def _all_settings(self) -> dict[str, Any]:
        """The settings a saved state must match: the ``SETTINGS`` attributes by name."""
        return {name: getattr(self, name) for name in self.SETTINGS}

    def get_state(self) -> dict[str, Any]:
        """The whole state as a JSON-able dict (an explicit format, never ``__dict__``)."""
        state: dict[str, Any] = to_json(
            {
                "format": self.STATE_FORMAT,
                "class": type(self).__name__,
                "settings": self._all_settings(),
                "metric": self._metric,
                "mode": self._mode,
                "rng": self._rng.bit_generator.state,
                **self._progress_state(),
            }
        )
        return state

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore ``get_state`` output; a ValueError for another format, class or settings, or a missing key."""
        try:
            if state["format"] != self.STATE_FORMAT or state["class"] != type(self).__name__:
                raise ValueError(
                    f"state of {state['class']!r} in format {state['format']!r} cannot restore a "
                    f"{type(self).__name__} ({self.STATE_FORMAT})"
                )
            self._check_settings(state["settings"])
            rng = generator_from_json(state["rng"])
            self._set_progress_state(state)
            self._rng = rng
            self._metric, self._mode = state["metric"], state["mode"]
        except KeyError as exc:
            raise ValueError(f"searcher state is missing the key {exc.args[0]!r}") from None

    def save(self, checkpoint_path: str) -> None:
        """Write the state as JSON atomically (temp file in the same directory, then ``os.replace``)."""
        write_json_atomic(checkpoint_path, self.get_state())

    def restore(self, checkpoint_path: str) -> None:
        """Load a state written by ``save``."""
        with open(checkpoint_path) as stream:
            self.set_state(json.load(stream))
