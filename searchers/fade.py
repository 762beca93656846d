"""FaDE's outer search (paper section 2.4): one anchor per row, moved by a pseudo-gradient step.

Each row ``i`` keeps an anchor ``M_i`` in the space's normalised feature box ``[0, 1]^dim`` (uniformly
random at the start). Row ``i`` of the next hyper-architecture holds the cells nearest to the probe points
``M_i + gamma * m * e_k`` and ``M_i - gamma * m * e_k`` for ``window // 2`` directions ``(k, m)``, in that
order (+ then -), preceded by the cell nearest to ``M_i`` itself (the anchor's own cell) when ``window`` is
odd. Cells in a row are distinct: when a probe's nearest cell is already in the row, the nearest one not
yet in it is taken. Equally near cells (``TIES``): ``"random"`` (default) draws one uniformly from the
searcher's generator; ``"index"`` takes the space's fixed rule (the lowest index, the behaviour before
issue 12). Deviation from the paper, which does not say: many cells share one feature vector (on
NAS-Bench-201 the default features give 853 distinct points for 15,625 cells), and a fixed rule hides
every other cell of a group from the search. On NAS-Bench-201 the optimum sits in a group of 15 that the
lowest-index rule never proposes (``bench/nb201_search.py``).

Directions (``choose_directions``), with ``p = window // 2`` pairs and ``d = dim``:
- ``p == d``: every axis once, ``m = 1`` (the paper's case ``dim = w / 2``).
- ``p < d``: ``p`` distinct axes drawn without replacement from the searcher's generator, per row and per
  iteration (sorted), ``m = 1``; over iterations every axis gets probed.
- ``p > d``: the axes cycle with growing multiples: ``(e_1, 1) .. (e_d, 1), (e_1, 2) .. (e_d, 2), ...``.

Step. After all trials of an iteration complete, ``beta(c)`` is the architecture weight of cell ``c``
(softmaxed ``alpha``, averaged over the repeats that succeeded; ``target="log_beta"`` uses its log).
Sign: ``beta`` is a weight where *higher is better*, so the anchor ascends (paper figure 3: "a step towards
better ranked architectures"); equation (1)'s minus sign would step away from the better-ranked side:

    M <- clip(M + step * g, 0, 1)

The pseudo-gradient ``g`` is in the units of equation (1): the change of ``beta`` across one probe pair's
nominal span ``2 * gamma``. The probe points are not where the cells are: a probe's nearest cell sits off
the probed axis, often at the same point as its partner or as another probe's cell (issue 10). So
``g`` comes from one of three estimators (``ESTIMATORS``):

- ``least_squares`` (default): every cell of the row takes part, the anchor's own cell included, at its
  *actual* offset ``x_j - M`` from the anchor. Fit ``beta_j ~ c + (x_j - M) . s`` (intercept ``c``,
  slope ``s``) by ridge regression (``ridge``, relative to the offsets' scale: it keeps a noisy beta from
  throwing the anchor along a direction the cells barely span, and settles the fit where the offsets do
  not determine ``s``: fewer distinct cells than ``dim + 1``, or offsets in a subspace); ``g = 2 * gamma * s``.
- ``pairs``: each +- pair's difference over its actual displacement, ``beta(+) - beta(-) ~ (x+ - x-) . s``
  (ridge regression over the pairs, as above); pairs whose two cells share one feature
  point carry no slope information and are skipped; ``g = 2 * gamma * s``.
- ``paper``: equation (1) literally (up to the sign above): per axis, the mean of
  ``(beta(+) - beta(-)) / m`` over the pairs that probed it, credited to the probed axis wherever the
  cells really are; axes not probed this iteration stay put.

If every repeat of an iteration fails, the anchors stay and the iteration is recorded as failed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from searchers.base import BatchOptions, BatchSearcher
from searchers.records import Proposal, check_float, check_int, path_fields
from spaces.base import CellSpace, FloatArray

if TYPE_CHECKING:
    from typing import Unpack  # Python 3.11+; only in annotations, so 3.10 never imports it

__all__ = [
    "ESTIMATORS",
    "TARGETS",
    "TIES",
    "Direction",
    "FaDESearcher",
    "ProbedRow",
    "PseudoGradientStep",
    "choose_directions",
    "pair_slots",
    "ridge_least_squares",
    "row_candidates",
]

logger = logging.getLogger(__name__)

ESTIMATORS = ("least_squares", "pairs", "paper")
TIES = ("random", "index")
TARGETS = ("beta", "log_beta")
RIDGE = 0.1  # relative to the mean eigenvalue of the offsets' scatter (ridge_least_squares)
MIN_RIDGE = 1e-6  # with ridge 0: only where the offsets leave the slope undetermined
MIN_BETA = 1e-12  # floor of beta before its log


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


def pair_slots(pairs: int, anchor_cell_first: bool) -> list[tuple[int, int]]:
    """Row positions ``(plus, minus)`` of each probe pair (after the anchor's cell when it comes first)."""
    offset = int(anchor_cell_first)
    return [(offset + 2 * j, offset + 2 * j + 1) for j in range(pairs)]


def ridge_least_squares(design: FloatArray, target: FloatArray, ridge: float = RIDGE) -> FloatArray:
    """The ``s`` minimising ``|design @ s - target|^2 + lam |s|^2``, ``lam = ridge`` times the mean eigenvalue
    of ``design^T design`` (scale-free).

    The ridge shrinks ``s`` along the directions the rows barely moved along, where noise in the target
    would otherwise be amplified (``bench/fade_step.py``: with noise, ridge 0.1 turns ~79 % of steps
    uphill into ~87 %). With ``ridge = 0``: ordinary least squares at full column rank, and a tiny ridge
    (about the minimum-norm solution) where ``design`` has a null space. An all-zero design gives ``s = 0``.
    """
    scatter = design.T @ design
    scale = float(np.trace(scatter)) / max(design.shape[1], 1)
    if design.size == 0 or scale <= 0.0:
        return np.zeros(design.shape[1])
    strength = ridge
    if strength == 0.0 and np.linalg.matrix_rank(design, tol=1e-9 * np.sqrt(scale)) < design.shape[1]:
        strength = MIN_RIDGE
    if strength == 0.0:
        return np.asarray(np.linalg.lstsq(design, target, rcond=None)[0], dtype=np.float64)
    regularised = scatter + strength * scale * np.eye(design.shape[1])
    return np.asarray(np.linalg.solve(regularised, design.T @ target), dtype=np.float64)


@dataclass(frozen=True)
class ProbedRow:
    """One row after training: the anchor, where its cells really are, and their trained weights."""

    anchor: FloatArray  # (dim,) the anchor the row was built around
    features: FloatArray  # (window, dim) the cells' actual normalised features, in row order
    beta: FloatArray  # (window,) softmaxed alpha of the cells, in row order
    directions: tuple[Direction, ...]  # the probe pairs, in row order
    anchor_cell_first: bool  # whether position 0 holds the anchor's own cell (odd window)

    @classmethod
    def from_plan(
        cls, anchor: npt.ArrayLike, features: npt.ArrayLike, beta: npt.ArrayLike, directions: Sequence[Any]
    ) -> ProbedRow:
        """A row from JSON-like pieces (``directions`` as ``[axis, multiple]`` lists or ``Direction``s)."""
        feats = np.asarray(features, dtype=np.float64)
        parsed = tuple(d if isinstance(d, Direction) else Direction(int(d[0]), int(d[1])) for d in directions)
        return cls(
            anchor=np.asarray(anchor, dtype=np.float64),
            features=feats,
            beta=np.asarray(beta, dtype=np.float64),
            directions=parsed,
            anchor_cell_first=len(feats) % 2 == 1,
        )


@dataclass(frozen=True)
class PseudoGradientStep:
    """The anchor update: probe width ``gamma``, step size ``step`` (the paper's lambda), the estimator.

    ``estimator`` is one of ``ESTIMATORS`` and ``target`` one of ``TARGETS`` (module docstring).
    """

    gamma: float = 0.1  # normalised features: 0.1 reaches the next vertex count (spacing 0.2) half-way
    step: float = 1.0  # beta differences are O(1 / window): a step of 1 moves the anchor by O(gamma)
    estimator: str = "least_squares"
    target: str = "beta"
    ridge: float = RIDGE  # least_squares and pairs: relative ridge (ridge_least_squares)

    def __post_init__(self) -> None:
        check_float("gamma", self.gamma, 0.0, 1.0, low_open=True, high_open=False)
        check_float("step", self.step, 0.0, np.inf, low_open=True, high_open=True)
        check_float("ridge", self.ridge, 0.0, np.inf, low_open=False, high_open=True)
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {list(ESTIMATORS)}, got {self.estimator!r}")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {list(TARGETS)}, got {self.target!r}")

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

    def gradient(self, row: ProbedRow) -> FloatArray:
        """The pseudo-gradient of ``row``: beta's change across a probe pair's span, per feature axis."""
        window = len(row.beta)
        slots = pair_slots(len(row.directions), row.anchor_cell_first)
        if row.features.shape != (window, row.anchor.size) or (slots and slots[-1][1] >= window):
            raise ValueError(
                f"need one feature row per beta and room for {len(row.directions)} pairs, got features "
                f"{row.features.shape}, {window} betas, anchor of size {row.anchor.size}"
            )
        y = np.log(np.maximum(row.beta, MIN_BETA)) if self.target == "log_beta" else row.beta
        if self.estimator == "paper":
            return self._paper(row, y, slots)
        if self.estimator == "pairs":
            plus, minus = [p for p, _ in slots], [m for _, m in slots]
            design, response = row.features[plus] - row.features[minus], y[plus] - y[minus]
            moved = np.linalg.norm(design, axis=1) > 1e-12  # same feature point: no slope information
            slope = ridge_least_squares(design[moved], response[moved], self.ridge)
        else:
            offsets = row.features - row.anchor
            # the intercept by centring: the slope of a fit with a free constant
            slope = ridge_least_squares(offsets - offsets.mean(axis=0), y - y.mean(), self.ridge)
        return 2.0 * self.gamma * slope

    @staticmethod
    def _paper(row: ProbedRow, y: FloatArray, slots: Sequence[tuple[int, int]]) -> FloatArray:
        """Equation (1): per axis, the mean of ``(y(+) - y(-)) / multiple`` over the pairs probing it."""
        total, count = np.zeros(row.anchor.size), np.zeros(row.anchor.size)
        for direction, (plus, minus) in zip(row.directions, slots, strict=True):
            total[direction.axis] += (y[plus] - y[minus]) / direction.multiple
            count[direction.axis] += 1
        return total / np.maximum(count, 1)

    def apply(self, row: ProbedRow, bounds: tuple[FloatArray, FloatArray]) -> FloatArray:
        """The next anchor: a step toward the better-ranked cells (ascent on beta), clipped to ``bounds``."""
        moved = row.anchor + self.step * self.gradient(row)
        return np.clip(moved, bounds[0], bounds[1])


def row_candidates(
    space: CellSpace[Any], points: Sequence[FloatArray], rng: np.random.Generator | None = None
) -> list[Any]:
    """The distinct cells nearest to ``points``, in order (a repeated nearest cell gives way to the next);
    equally near cells: a uniform draw from ``rng``, or the space's fixed rule without one."""
    row: list[Any] = []
    for point in points:
        row.append(space.nearest(point, exclude=row, rng=rng))
    return row


class FaDESearcher(BatchSearcher):
    """FaDE pseudo-gradient search over ``depth`` rows of ``window`` cells (see the module docstring).

    Example (``hyper_trainable`` reports ``alpha`` and ``val_acc`` every epoch)::

        from ray import tune
        from hiernas.tune.trainables import hyper_trainable
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
        *,
        estimator: str = "least_squares",
        target: str = "beta",
        ties: str = "random",
        **options: Unpack[BatchOptions],
    ) -> None:
        super().__init__(space, depth, window, iterations, **options)
        self.pseudo_gradient = PseudoGradientStep(gamma=gamma, step=step, estimator=estimator, target=target)
        if ties not in TIES:
            raise ValueError(f"ties must be one of {list(TIES)}, got {ties!r}")
        self.ties = ties
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
            rows.append(row_candidates(self.space, points, self._rng if self.ties == "random" else None))
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
            "estimator": self.pseudo_gradient.estimator,
            "pseudo_gradient": None,
            "best_path": None,
            "best_cells": None,
            "log_rank": None,
        }
        if alpha is not None:
            gradients = []
            for row, (pairs, features) in enumerate(
                zip(proposal.plan["directions"], proposal.plan["cell_features"], strict=True)
            ):
                probed = ProbedRow.from_plan(before[row], features, alpha[row], pairs)
                gradients.append(self.pseudo_gradient.gradient(probed))
                after[row] = self.pseudo_gradient.apply(probed, self.space.bounds)
            record["pseudo_gradient"] = [g.tolist() for g in gradients]
            best = [int(np.argmax(alpha_row)) for alpha_row in alpha]
            record.update(path_fields(proposal.cells, best, alpha))
        self._anchors = after
        record["anchors_after"] = after.tolist()
        return record

    def describe(self, record: Mapping[str, Any]) -> str:
        """The base progress line plus the anchors after the step, one bracket per row."""
        anchors = "; ".join(" ".join(f"{v:.2f}" for v in row) for row in record["anchors_after"])
        return f"{super().describe(record)}, anchors [{anchors}]"

    def _all_settings(self) -> dict[str, Any]:
        """The base settings, the pseudo-gradient step's (probe width, step size, estimator, target), the ties."""
        step = self.pseudo_gradient
        own = {"gamma": step.gamma, "step": step.step, "estimator": step.estimator, "target": step.target,
               "ties": self.ties}
        return {**super()._all_settings(), **own}

    def _check_settings(self, saved: Mapping[str, Any]) -> None:
        # states saved before ties were drawn took the space's fixed rule
        super()._check_settings({"ties": "index", **saved})

    def _algorithm_state(self) -> dict[str, Any]:
        return {"anchors": None if self._anchors is None else self._anchors.tolist()}

    def _set_algorithm_state(self, state: Mapping[str, Any]) -> None:
        anchors = state["anchors"]
        self._anchors = None if anchors is None else np.asarray(anchors, dtype=np.float64)
