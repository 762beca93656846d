"""FaDE's outer search (paper section 2.4): one anchor per row, moved by a finite-difference pseudo-gradient.

Each row ``i`` keeps an anchor ``M_i`` in the space's normalised feature box ``[0, 1]^dim`` (uniformly
random at the start). Row ``i`` of the next hyper-architecture holds the cells nearest to the probe points
``M_i + gamma * m * e_k`` and ``M_i - gamma * m * e_k`` for ``window // 2`` directions ``(k, m)``, in that
order (+ then -), preceded by the cell nearest to ``M_i`` itself when ``window`` is odd. Cells in a row
are distinct: when a probe's nearest cell is already in the row, the nearest one not yet in it is taken.

Directions (``choose_directions``), with ``p = window // 2`` pairs and ``d = dim``:
- ``p == d``: every axis once, ``m = 1`` (the paper's case ``dim = w / 2``).
- ``p < d``: ``p`` distinct axes drawn without replacement from the searcher's generator, per row and per
  iteration (sorted), ``m = 1``; over iterations every axis gets probed.
- ``p > d``: the axes cycle with growing multiples: ``(e_1, 1) .. (e_d, 1), (e_1, 2) .. (e_d, 2), ...``.

Step (equation 1). After all trials of an iteration complete, ``beta(c)`` is the architecture weight of
cell ``c`` (softmaxed ``alpha``, averaged over the repeats that succeeded). The paper writes
``M <- M - lambda * sum_k e_k (beta(M + gamma e_k) - beta(M - gamma e_k))`` and calls it descent, but
``beta`` is a weight where *higher is better*: subtracting that difference would step away from the better
ranked side (paper figure 3: "a step towards better ranked architectures"). We therefore ascend:

    M <- clip(M + step * g, 0, 1),  g_k = mean over pairs on axis k of (beta(+) - beta(-)) / m.

Dividing by ``m`` keeps a wider pair's coarser difference from counting more than a near one; with
``p == d`` this is exactly equation (1) with the sign flipped. Axes not probed this iteration stay put.
If every repeat of an iteration fails, the anchors stay and the iteration is recorded as failed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from searchers.base import BatchSearcher
from searchers.records import Proposal, check_float, check_int, path_fields
from spaces.base import CellSpace, FloatArray

__all__ = ["Direction", "FaDESearcher", "PseudoGradientStep", "choose_directions", "row_candidates"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Direction:
    """A probe pair ``M +- multiple * gamma * e_axis``."""

    axis: int
    multiple: int = 1


def choose_directions(dim: int, pairs: int, rng: np.random.Generator) -> tuple[Direction, ...]:
    """The ``pairs`` probe directions of one row for one iteration (module docstring: the three cases)."""
    check_int("dim", dim, 1)
    check_int("pairs", pairs, 1)
    if pairs < dim:
        axes = sorted(int(a) for a in rng.choice(dim, size=pairs, replace=False))
        return tuple(Direction(axis) for axis in axes)
    return tuple(Direction(j % dim, j // dim + 1) for j in range(pairs))


@dataclass(frozen=True)
class PseudoGradientStep:
    """Equation (1) of FaDE, ascending: probe width ``gamma`` and step size ``step`` (the paper's lambda)."""

    gamma: float = 0.1  # normalised features: 0.1 reaches the next vertex count (spacing 0.2) half-way
    step: float = 1.0  # beta differences are O(1 / window): a step of 1 moves the anchor by O(gamma)

    def __post_init__(self) -> None:
        check_float("gamma", self.gamma, 0.0, 1.0, low_open=True, high_open=False)
        check_float("step", self.step, 0.0, np.inf, low_open=True, high_open=True)

    def probe_points(
        self, anchor: npt.ArrayLike, directions: Sequence[Direction], include_anchor: bool
    ) -> list[FloatArray]:
        """Probe points in row order: ``[M]`` if ``include_anchor``, then ``M + d, M - d`` per direction."""
        centre = np.asarray(anchor, dtype=np.float64)
        points = [centre.copy()] if include_anchor else []
        for direction in directions:
            offset = np.zeros_like(centre)
            offset[direction.axis] = self.gamma * direction.multiple
            points += [centre + offset, centre - offset]
        return points

    def gradient(
        self,
        dim: int,
        directions: Sequence[Direction],
        beta_plus: Sequence[float],
        beta_minus: Sequence[float],
    ) -> FloatArray:
        """Per axis, the mean of ``(beta(+) - beta(-)) / multiple`` over the pairs probing that axis."""
        if not len(directions) == len(beta_plus) == len(beta_minus):
            raise ValueError(
                f"need one beta pair per direction, got {len(directions)} directions, "
                f"{len(beta_plus)} plus and {len(beta_minus)} minus"
            )
        total, count = np.zeros(dim), np.zeros(dim)
        for direction, plus, minus in zip(directions, beta_plus, beta_minus, strict=True):
            total[direction.axis] += (plus - minus) / direction.multiple
            count[direction.axis] += 1
        return total / np.maximum(count, 1)

    def apply(
        self,
        anchor: npt.ArrayLike,
        directions: Sequence[Direction],
        beta_plus: Sequence[float],
        beta_minus: Sequence[float],
        bounds: tuple[FloatArray, FloatArray],
    ) -> FloatArray:
        """The next anchor: a step toward the better-ranked side of every pair, clipped to ``bounds``."""
        centre = np.asarray(anchor, dtype=np.float64)
        moved = centre + self.step * self.gradient(centre.size, directions, beta_plus, beta_minus)
        return np.clip(moved, bounds[0], bounds[1])


def row_candidates(space: CellSpace[Any], points: Sequence[FloatArray]) -> list[Any]:
    """The distinct cells nearest to ``points``, in order (a repeated nearest cell gives way to the next)."""
    row: list[Any] = []
    for point in points:
        row.append(space.nearest(point, exclude=row))
    return row


class FaDESearcher(BatchSearcher):
    """FaDE pseudo-gradient search over ``depth`` rows of ``window`` cells (see the module docstring).

    Example (``hyper_trainable`` reports ``alpha`` and ``val_acc`` every epoch)::

        from ray import tune
        from hiernas.trainable import hyper_trainable
        from searchers.fade import FaDESearcher
        from spaces.dag import DagSpace

        searcher = FaDESearcher(DagSpace(6), depth=4, window=6, iterations=10, repeats=2, seed=0)
        tuner = tune.Tuner(
            hyper_trainable,
            param_space={"model": {"depth": 4, "window": 6}, "train": {"epochs": 5}},
            tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1, metric="val_acc", mode="max"),
        )
        tuner.fit()
        print(searcher.best(3), searcher.history[-1]["anchors_after"])
    """

    MIN_WINDOW = 2  # one +- pair at least

    def __init__(
        self,
        space: CellSpace[Any],
        depth: int,
        window: int,
        iterations: int,
        gamma: float = 0.1,
        step: float = 1.0,
        repeats: int = 1,
        metric: str = "val_acc",
        mode: str = "max",
        seed: int = 0,
    ) -> None:
        super().__init__(
            space, depth, window, iterations, repeats=repeats, metric=metric, mode=mode, seed=seed
        )
        self.pseudo_gradient = PseudoGradientStep(gamma=gamma, step=step)
        self._anchors: FloatArray | None = None

    @property
    def anchors(self) -> FloatArray | None:
        """Current anchors, shape ``(depth, dim)``; None before the first suggestion."""
        return None if self._anchors is None else self._anchors.copy()

    def _propose(self) -> Proposal:
        low, high = self.space.bounds
        if self._anchors is None:
            self._anchors = self._rng.uniform(low, high, size=(self.depth, self.space.dim))
        include_anchor = self.window % 2 == 1
        rows, directions = [], []
        for anchor in self._anchors:
            row_directions = choose_directions(self.space.dim, self.window // 2, self._rng)
            points = self.pseudo_gradient.probe_points(anchor, row_directions, include_anchor)
            rows.append(row_candidates(self.space, points))
            directions.append([[d.axis, d.multiple] for d in row_directions])
        return Proposal(
            cells=[[self.space.encode(cell) for cell in row] for row in rows],
            plan={
                "anchors": self._anchors.tolist(),
                "directions": directions,
                "cell_features": [[self.space.features(cell).tolist() for cell in row] for row in rows],
            },
        )

    def _finish(
        self, proposal: Proposal, results: list[dict[str, Any]], alpha: FloatArray | None
    ) -> dict[str, Any]:
        before = np.asarray(proposal.plan["anchors"], dtype=np.float64)
        after = before.copy()
        record: dict[str, Any] = {
            "anchors_before": before.tolist(),
            "directions": proposal.plan["directions"],
            "anchor_cell_first": self.window % 2 == 1,
            "cell_features": proposal.plan["cell_features"],
            "best_path": None,
            "best_cells": None,
            "log_rank": None,
        }
        if alpha is not None:
            offset = self.window % 2
            for row, pairs in enumerate(proposal.plan["directions"]):
                directions = [Direction(int(axis), int(multiple)) for axis, multiple in pairs]
                plus = [float(alpha[row, offset + 2 * j]) for j in range(len(directions))]
                minus = [float(alpha[row, offset + 2 * j + 1]) for j in range(len(directions))]
                after[row] = self.pseudo_gradient.apply(
                    before[row], directions, plus, minus, self.space.bounds
                )
            best = [int(np.argmax(alpha_row)) for alpha_row in alpha]
            record.update(path_fields(proposal.cells, best, alpha))
        self._anchors = after
        record["anchors_after"] = after.tolist()
        return record

    def describe(self, record: Mapping[str, Any]) -> str:
        """The base progress line plus the anchors after the step, one bracket per row."""
        anchors = "; ".join(" ".join(f"{v:.2f}" for v in row) for row in record["anchors_after"])
        return f"{super().describe(record)}, anchors [{anchors}]"

    def _settings(self) -> dict[str, Any]:
        return {"gamma": self.pseudo_gradient.gamma, "step": self.pseudo_gradient.step}

    def _algorithm_state(self) -> dict[str, Any]:
        return {"anchors": None if self._anchors is None else self._anchors.tolist()}

    def _set_algorithm_state(self, state: Mapping[str, Any]) -> None:
        anchors = state["anchors"]
        self._anchors = None if anchors is None else np.asarray(anchors, dtype=np.float64)
