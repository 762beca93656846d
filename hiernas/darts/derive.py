"""Derivations from architecture weights: DARTS' top-2 edges per node, and the DARTS-PD stages.

Inputs are plain numpy arrays of mixing weights ``(E, n_ops)`` with the edges of a cell in the order of
``hiernas.darts.networks.edge_index`` (node 0's two inputs, node 1's three, ...). For PC-DARTS pass the
softmaxed alpha already multiplied by the normalised edge weights beta (``SearchNetwork.arch_weights``).

DARTS-PD (three stages after a differentiable search):

1. Soft pruning (``soft_prune``): DARTS' derived topology (two inputs per node, 2 * steps slots per cell)
   with the ``k`` strongest non-``none`` ops kept on each slot. A *path* picks one kept op per slot of
   both cells, i.e. it is a genotype; there are ``k ** n`` paths for ``n = 4 * steps`` slots.
2. Path-wise strict-fair training (``hiernas.fairness``, shared with the FaDE level). A step trains a
   *group* of ``k`` paths on one batch, sums their gradients and makes one optimiser update. Group ``g`` (an offset
   vector in ``Z_k^(n-1)``) holds the paths ``p_j = (j, j + g_1, ..., j + g_{n-1}) mod k`` for
   ``j = 0..k-1``, so within a step every kept op of every slot is used exactly once (FairNAS strict
   fairness), and the ``k ** (n-1)`` groups partition the ``k ** n`` paths: over one cycle every path
   is updated exactly once (DARTS-PD eq. 4). The schedule runs whole cycles, each in a shuffled order;
   when the budget is shorter than one cycle (k = 2, n = 16: 32768 steps) it draws distinct groups
   without replacement, so no path is updated twice and every trained path has exactly one update.
3. Evolution (``evolve_paths``): paths scored by validation accuracy with the shared weights; returns
   the Pareto front of accuracy against evaluation-network size (several architectures of different
   sizes) and every evaluated path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from hiernas.paths import Path, all_paths
from spaces.darts import PRIMITIVES, Genotype, genotype_from_json

Weights = npt.ArrayLike
A = TypeVar("A")  # an architecture: a DARTS Genotype, or a cell of another space (NAS-Bench-201)
A_co = TypeVar("A_co", covariant=True)


class PathChoices(Protocol[A_co]):
    """A soft-pruned supernet as DARTS-PD's stages 2-3 use it: its choices, the options kept in each, the
    architecture of a path and the JSON of a checkpoint (``PrunedSupernet`` for DARTS cells,
    ``hiernas.nb201.derive.PrunedCell`` for NAS-Bench-201 cells)."""

    @property
    def slots(self) -> Sequence[object]: ...

    @property
    def k(self) -> int: ...

    def genotype(self, path: Sequence[int]) -> A_co: ...

    def to_json(self) -> dict[str, Any]: ...


def _check(weights: np.ndarray, steps: int, primitives: Sequence[str]) -> None:
    edges = sum(i + 2 for i in range(steps))
    if weights.shape != (edges, len(primitives)):
        raise ValueError(
            f"weights must have shape ({edges}, {len(primitives)}) for {steps} nodes, got {weights.shape}"
        )


def derive_cell(
    weights: Weights, steps: int, primitives: Sequence[str] = PRIMITIVES, excluded: Sequence[str] = ("none",)
) -> tuple[tuple[str, int], ...]:
    """Per node, the two incoming edges whose best non-excluded op is strongest, each with that op.

    Ties keep the lower input index (stable sort), so the result is deterministic.
    """
    w = np.asarray(weights, dtype=np.float64)
    _check(w, steps, primitives)
    allowed = np.array([name not in excluded for name in primitives])
    edges: list[tuple[str, int]] = []
    offset = 0
    for node in range(steps):
        block = np.where(allowed, w[offset : offset + node + 2], -np.inf)  # (node + 2, n_ops)
        strength = block.max(axis=1)
        best_sources = sorted(np.argsort(-strength, kind="stable")[:2].tolist())
        edges += [(primitives[int(np.argmax(block[s]))], int(s)) for s in best_sources]
        offset += node + 2
    return tuple(edges)


def derive_genotype(
    weights_normal: Weights, weights_reduce: Weights, steps: int, primitives: Sequence[str] = PRIMITIVES
) -> Genotype:
    """The DARTS genotype of both cells; every intermediate node is concatenated."""
    concat = tuple(range(2, steps + 2))
    return Genotype(
        derive_cell(weights_normal, steps, primitives),
        concat,
        derive_cell(weights_reduce, steps, primitives),
        concat,
    )


@dataclass(frozen=True)
class PrunedSupernet:
    """DARTS-PD soft pruning: the derived topology with the top-k ops kept on each of its edges.

    ``kept[cell][slot]`` lists op names (best first) for slot ``slot`` of the genotype of that cell type,
    ``sources[cell][slot]`` the input of that slot. A path picks one kept op per slot.
    """

    steps: int
    sources: dict[str, tuple[int, ...]]
    kept: dict[str, tuple[tuple[str, ...], ...]]

    @property
    def slots(self) -> list[tuple[str, int]]:
        """(cell type, slot) of every choice, normal cell first."""
        return [(cell, slot) for cell in ("normal", "reduce") for slot in range(len(self.sources[cell]))]

    @property
    def k(self) -> int:
        return len(self.kept["normal"][0])

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "sources": {c: list(v) for c, v in self.sources.items()},
            "kept": {c: [list(ops) for ops in v] for c, v in self.kept.items()},
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> PrunedSupernet:
        return cls(
            int(obj["steps"]),
            {c: tuple(int(s) for s in v) for c, v in obj["sources"].items()},
            {c: tuple(tuple(ops) for ops in v) for c, v in obj["kept"].items()},
        )

    def genotype(self, path: Sequence[int]) -> Genotype:
        """The genotype of ``path`` (one index into ``kept`` per slot, in ``slots`` order)."""
        slots = self.slots
        if len(path) != len(slots):
            raise ValueError(f"a path has {len(slots)} choices, got {len(path)}")
        cells: dict[str, list[tuple[str, int]]] = {"normal": [], "reduce": []}
        for (cell, slot), choice in zip(slots, path, strict=True):
            cells[cell].append((self.kept[cell][slot][int(choice)], self.sources[cell][slot]))
        concat = tuple(range(2, self.steps + 2))
        return Genotype(tuple(cells["normal"]), concat, tuple(cells["reduce"]), concat)


def soft_prune(
    weights_normal: Weights,
    weights_reduce: Weights,
    steps: int,
    k: int = 2,
    primitives: Sequence[str] = PRIMITIVES,
) -> PrunedSupernet:
    """DARTS-PD stage 1 output: DARTS' edges, each keeping its ``k`` strongest non-``none`` ops."""
    if not 1 <= k < len(primitives):
        raise ValueError(f"k must be in [1, {len(primitives) - 1}], got {k}")
    sources: dict[str, tuple[int, ...]] = {}
    kept: dict[str, tuple[tuple[str, ...], ...]] = {}
    for cell, weights in (("normal", weights_normal), ("reduce", weights_reduce)):
        w = np.asarray(weights, dtype=np.float64)
        edges = derive_cell(w, steps, primitives)
        allowed = np.array([name != "none" for name in primitives])
        cell_kept = []
        for slot, (_, source) in enumerate(edges):
            row = np.where(allowed, w[sum(i + 2 for i in range(slot // 2)) + source], -np.inf)
            cell_kept.append(tuple(primitives[int(i)] for i in np.argsort(-row, kind="stable")[:k]))
        sources[cell] = tuple(s for _, s in edges)
        kept[cell] = tuple(cell_kept)
    return PrunedSupernet(steps, sources, kept)


@dataclass(frozen=True)
class Candidate(Generic[A]):
    """An evaluated path: its genotype, validation accuracy (shared weights) and evaluation-network size.

    ``to_json``/``from_json`` are for DARTS genotypes (``hiernas.nb201.derive.candidate_json``: NB201 cells).
    """

    path: Path
    genotype: A
    val_acc: float
    params: int

    def to_json(self: Candidate[Genotype]) -> dict[str, Any]:
        return {
            "path": list(self.path),
            "genotype": self.genotype.to_json(),
            "val_acc": self.val_acc,
            "params": self.params,
        }

    @staticmethod
    def from_json(obj: dict[str, Any]) -> Candidate[Genotype]:
        genotype = genotype_from_json(obj["genotype"])
        return Candidate(tuple(obj["path"]), genotype, float(obj["val_acc"]), int(obj["params"]))


@dataclass(frozen=True)
class Evolution(Generic[A]):
    """What ``evolve_paths`` found: the trade-off selection (best accuracy first) and every evaluated path."""

    selected: list[Candidate[A]]
    evaluated: list[Candidate[A]]


def pareto_front(candidates: Sequence[Candidate[A]]) -> list[Candidate[A]]:
    """Candidates no other beats on both accuracy (higher) and size (lower), by increasing size."""
    ordered = sorted(candidates, key=lambda c: (c.params, -c.val_acc))
    front: list[Candidate[A]] = []
    for c in ordered:
        if not front or c.val_acc > front[-1].val_acc:
            front.append(c)
    return front


def select_tradeoff(candidates: Sequence[Candidate[A]], count: int) -> list[Candidate[A]]:
    """Up to ``count`` architectures of different sizes: spread along the Pareto front, best accuracy first.

    The most accurate candidate is always included; if the front is short, the most accurate remaining
    candidates of still-unused sizes fill up.
    """
    front = pareto_front(candidates)
    if len(front) > count:
        picks = np.unique(np.round(np.linspace(0, len(front) - 1, count)).astype(int))
        chosen = [front[int(i)] for i in picks]
    else:
        chosen = list(front)
        sizes = {c.params for c in chosen}
        for c in sorted(candidates, key=lambda c: -c.val_acc):
            if len(chosen) >= count:
                break
            if c.params not in sizes:
                chosen.append(c)
                sizes.add(c.params)
    return sorted(chosen, key=lambda c: (-c.val_acc, c.params))


def evolve_paths(
    pruned: PathChoices[A],
    score: Callable[[A], float],
    size: Callable[[A], int],
    population: int,
    generations: int,
    num_architectures: int,
    rng: np.random.Generator,
    mutation_rate: float | None = None,
) -> Evolution[A]:
    """Elitist evolution over paths of ``pruned``: tournament parents, uniform crossover, point mutation.

    ``score`` is the validation accuracy of a genotype with the shared weights; each distinct path is
    scored once. Every generation makes ``population`` children and keeps the best ``population`` of
    parents and children. All paths are enumerated instead when there are no more than ``population``.
    """
    n, k = len(pruned.slots), pruned.k
    rate = mutation_rate if mutation_rate is not None else 1.0 / n
    cache: dict[Path, Candidate[A]] = {}

    def evaluate(path: Path) -> Candidate[A]:
        if path not in cache:
            genotype = pruned.genotype(path)
            cache[path] = Candidate(path, genotype, float(score(genotype)), int(size(genotype)))
        return cache[path]

    if k**n <= population:
        for path in all_paths(n, k):
            evaluate(path)
    else:
        current = [evaluate(tuple(int(v) for v in rng.integers(k, size=n))) for _ in range(population)]
        for _ in range(generations):
            children = []
            for _ in range(population):
                a, b = (
                    max(rng.choice(len(current), 2), key=lambda i: current[int(i)].val_acc) for _ in range(2)
                )
                mask = rng.random(n) < 0.5
                child = np.where(mask, current[int(a)].path, current[int(b)].path)
                mutate = rng.random(n) < rate
                child = np.where(mutate, (child + rng.integers(1, k, size=n)) % k if k > 1 else child, child)
                children.append(evaluate(tuple(int(v) for v in child)))
            pool = {c.path: c for c in current + children}
            current = sorted(pool.values(), key=lambda c: (-c.val_acc, c.params))[:population]
    evaluated = list(cache.values())
    return Evolution(select_tradeoff(evaluated, num_architectures), evaluated)
