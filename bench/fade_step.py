#!/usr/bin/env python
"""Does FaDE's pseudo-gradient step point uphill? The estimators side by side on a planted linear beta.

    python bench/fade_step.py                                # window 6, gamma 0.1, 300 anchors, a few seconds
    python bench/fade_step.py --windows 6 7 --noise 0 0.01 0.03 --anchors 1000

Rows are built exactly as ``FaDESearcher`` builds them on the real ``DagSpace`` (probe directions, probe
points, the distinct nearest cells) around uniformly random anchors. Each anchor gets a random true
gradient ``w`` (uniform direction, norm ``--slope``) and the row's cells a planted weight
``beta_j = 1 / window + (x_j - M) . w + noise * N(0, 1)``, linear in the cells' *actual* features ``x_j``.
Every estimator of ``searchers.fade.ESTIMATORS`` (and the least squares without its ridge) sees the same
rows and betas; the table gives, per noise
level, the share of anchors whose step has a positive cosine with ``w`` (with a 95 % Wilson interval),
the median cosine, how many steps were zero, and a one-sided Wilcoxon signed-rank test of each estimator's
cosines against the paper's (paired by anchor). A geometry line counts what issue 10 counted: probes
whose nearest cell was already in the row, +- pairs that are one feature point, pairs that do not move
along the probed axis, and pairs that move against it.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from searchers.fade import ESTIMATORS, ProbedRow, PseudoGradientStep, choose_directions, pair_slots, row_candidates
from spaces.base import FloatArray
from spaces.dag import DagSpace


@dataclass(frozen=True)
class Geometry:
    """One anchor's row as the searcher builds it, and where its probes' cells ended up."""

    row: ProbedRow  # beta left at zero: the planted betas are drawn per noise level
    replaced: int  # probes whose own nearest cell was already in the row
    probes: int


def build_row(space: DagSpace, anchor: FloatArray, window: int, gamma: float, rng: np.random.Generator) -> Geometry:
    """The row ``FaDESearcher._propose`` would build around ``anchor``."""
    directions = choose_directions(space.dim, window // 2, rng)
    points = PseudoGradientStep(gamma=gamma).probe_points(anchor, directions, include_anchor=window % 2 == 1)
    cells = row_candidates(space, points)
    replaced = sum(space.nearest(point) != cell for point, cell in zip(points, cells, strict=True))
    features = np.array([space.features(cell) for cell in cells])
    row = ProbedRow.from_plan(anchor, features, np.zeros(window), directions)
    return Geometry(row, replaced, len(points))


def geometry_line(rows: list[Geometry]) -> str:
    """Issue 10's counts: replaced probes, pairs at one point, pairs not (or wrongly) moving on their axis."""
    same = off_axis = wrong = pairs = 0
    for geometry in rows:
        row = geometry.row
        for direction, (plus, minus) in zip(row.directions, pair_slots(len(row.directions), row.anchor_cell_first),
                                            strict=True):
            move = row.features[plus] - row.features[minus]
            pairs += 1
            same += bool(np.linalg.norm(move) <= 1e-12)
            off_axis += bool(abs(move[direction.axis]) <= 1e-12)
            wrong += bool(move[direction.axis] < -1e-12)
    replaced = sum(g.replaced for g in rows) / sum(g.probes for g in rows)
    return (f"probes replaced {100 * replaced:.0f} %, pairs at one point {100 * same / pairs:.0f} %, "
            f"no move along the probed axis {100 * off_axis / pairs:.0f} %, "
            f"against it {100 * wrong / pairs:.0f} % ({pairs} pairs)")


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def variants(gamma: float) -> dict[str, PseudoGradientStep]:
    """Every estimator with its defaults, and the least squares without its ridge."""
    steps = {name: PseudoGradientStep(gamma=gamma, estimator=name) for name in ESTIMATORS}
    return {**steps, "least_sq ridge 0": PseudoGradientStep(gamma=gamma, ridge=0.0)}


def cosines(
    rows: list[Geometry], slopes: FloatArray, noise: float, steps: dict[str, PseudoGradientStep], seed: int
) -> dict[str, FloatArray]:
    """Per step variant, the cosine of each anchor's step with its true gradient (0 for a zero step)."""
    rng = np.random.default_rng(seed)
    result: dict[str, list[float]] = {name: [] for name in steps}
    for geometry, slope in zip(rows, slopes, strict=True):
        row = geometry.row
        window = len(row.beta)
        beta = 1.0 / window + (row.features - row.anchor) @ slope + noise * rng.standard_normal(window)
        planted = ProbedRow(row.anchor, row.features, beta, row.directions, row.anchor_cell_first)
        for name, step in steps.items():
            gradient = step.gradient(planted)
            norm = float(np.linalg.norm(gradient) * np.linalg.norm(slope))
            result[name].append(0.0 if norm == 0 else float(gradient @ slope) / norm)
    return {name: np.array(values) for name, values in result.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, nargs="+", default=[6])
    parser.add_argument("--gamma", type=float, default=0.1)
    parser.add_argument("--anchors", type=int, default=300)
    parser.add_argument("--slope", type=float, default=0.25, help="norm of the planted gradient of beta")
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.01, 0.03], help="SD of beta's noise")
    parser.add_argument("--max-vertices", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    space = DagSpace(args.max_vertices)
    rng = np.random.default_rng(args.seed)
    print(f"DagSpace({args.max_vertices}) ({len(space)} cells, features {', '.join(space.feature_names)}), "
          f"gamma {args.gamma}, {args.anchors} anchors, planted |grad beta| = {args.slope}")
    for window in args.windows:
        anchors = rng.uniform(*space.bounds, size=(args.anchors, space.dim))
        rows = [build_row(space, anchor, window, args.gamma, rng) for anchor in anchors]
        slopes = rng.standard_normal((args.anchors, space.dim))
        slopes *= args.slope / np.linalg.norm(slopes, axis=1, keepdims=True)
        print(f"\nwindow {window}: {geometry_line(rows)}")
        print(f"{'noise':>6s} {'estimator':16s} {'cos > 0':>8s} {'95 % interval':>15s} {'median cos':>10s} "
              f"{'zero steps':>10s} {'p (> paper)':>11s}")
        for noise in args.noise:
            table = cosines(rows, slopes, noise, variants(args.gamma), args.seed + 1)
            for name in table:
                values = table[name]
                positive = int(np.sum(values > 0))
                low, high = wilson(positive, values.size)
                differences = values - table["paper"]
                p = "" if name == "paper" or not np.any(differences) else (
                    f"{stats.wilcoxon(values, table['paper'], alternative='greater').pvalue:.1e}")
                print(f"{noise:6.3f} {name:16s} {100 * positive / values.size:7.1f}% "
                      f"{100 * low:6.1f}-{100 * high:5.1f} % {np.median(values):10.3f} "
                      f"{int(np.sum(values == 0)):10d} {p:>11s}")


if __name__ == "__main__":
    main()
