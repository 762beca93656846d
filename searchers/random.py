"""Random search baseline with the same budget as FaDE and DARTS-PD: each row's window drawn uniformly.

Same batches (``repeats`` trials per iteration), iterations and config keys (``cells``, ``seed``, and the
optional ``train`` block, so a comparison with ``EvolutionSearcher`` can run the same DARTS-PD stages).
The best path of an iteration is the trainable's ``top_paths[0]`` when all successful repeats agree on
it, else the per-row argmax of the averaged alpha (the path of best log FaDE rank).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from searchers.base import BatchOptions, BatchSearcher
from searchers.records import Proposal, path_fields, to_json
from spaces.base import CellSpace, FloatArray

if TYPE_CHECKING:
    from typing import Unpack  # Python 3.11+; only in annotations, so 3.10 never imports it

__all__ = ["RandomSearcher"]

logger = logging.getLogger(__name__)


class RandomSearcher(BatchSearcher):
    """Uniformly random hyper-architectures (distinct cells per row), one batch per iteration.

    ``train`` (optional) goes into every trial config; run it as ``BatchSearcher``'s example shows.
    """

    SETTINGS: ClassVar[tuple[str, ...]] = (*BatchSearcher.SETTINGS, "train")

    def __init__(
        self,
        space: CellSpace[Any],
        depth: int,
        window: int,
        iterations: int,
        *,
        train: Mapping[str, Any] | None = None,
        **options: Unpack[BatchOptions],
    ) -> None:
        super().__init__(space, depth, window, iterations, **options)
        self.train: dict[str, Any] | None = None if train is None else to_json(dict(train))

    def _propose(self) -> Proposal:
        rows = [self.distinct_row([], self._rng) for _ in range(self.depth)]
        return Proposal(
            cells=[[self.space.encode(cell) for cell in row] for row in rows],
            extra_config={} if self.train is None else {"train": dict(self.train)},
        )

    def _top_path(self, results: list[dict[str, Any]], alpha: FloatArray) -> list[int]:
        firsts = []
        for result in results:
            top = result.get("top_paths")
            first = top[0] if isinstance(top, list) and top else None
            valid = (
                isinstance(first, list)
                and len(first) == self.depth
                and all(isinstance(j, int) and 0 <= j < self.window for j in first)
            )
            firsts.append(first if valid else None)
        if firsts[0] is not None and all(f == firsts[0] for f in firsts):
            return list(firsts[0])
        return [int(np.argmax(row)) for row in alpha]

    def _finish(
        self, proposal: Proposal, results: list[dict[str, Any]], alpha: FloatArray | None
    ) -> dict[str, Any]:
        if alpha is None:
            return {"best_path": None, "best_cells": None, "log_rank": None}
        return path_fields(proposal.cells, self._top_path(results, alpha), alpha)

    def _algorithm_state(self) -> dict[str, Any]:
        return {}

    def _set_algorithm_state(self, state: Mapping[str, Any]) -> None:
        return None
