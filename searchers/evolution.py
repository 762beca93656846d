"""DARTS-PD path selection (soft pruning, path-wise strict-fair training, evolution) over hierarchical rows.

Each row holds a population of ``window`` distinct cells (uniformly random at the start). A trial trains
the hyper-architecture, soft-prunes every row to its top ``prune_k`` cells by alpha, trains the pruned
network path-wise with strict fairness for ``fair_epochs`` epochs, and reports the validation accuracy of
``eval_paths`` paths (``path_indices``, ``path_val_acc``; see docs/CONTRACTS.md). The searcher then

1. keeps the ``prune_k`` kept cells of every row as parents (the trainable's ``kept``, or the top-k of the
   averaged alpha when repeats disagree or it is missing),
2. ranks the evaluated paths by validation accuracy (averaged over repeats) into an archive of the best
   paths found (``best(n)``),
3. refills every row to ``window`` distinct cells: ``mutation_fraction`` of the free places by mutating
   the row's cells on the best-ranked paths (best first, cycling), the rest by crossover of two random
   parents (mutation only when there is a single parent), random cells if a child keeps repeating.

If every repeat of an iteration fails, the population stays and the iteration is recorded as failed.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from searchers.base import BatchOptions, BatchSearcher
from searchers.records import PathRecord, Proposal, check_float, check_int, path_fields, to_json
from spaces.base import CellSpace, FloatArray

if TYPE_CHECKING:
    from typing import Unpack  # Python 3.11+; only in annotations, so 3.10 never imports it

__all__ = ["EvolutionSearcher", "next_row"]

logger = logging.getLogger(__name__)


def next_row(
    space: CellSpace[Any],
    parents: Sequence[Any],
    mutation_sources: Sequence[Any],
    window: int,
    mutation_fraction: float,
    rng: np.random.Generator,
) -> list[Any]:
    """Parents followed by distinct children up to ``window`` cells (module docstring, step 3)."""
    row = list(dict.fromkeys(parents))[:window]
    num_parents = len(row)
    free = window - num_parents
    num_mutations = free if num_parents < 2 else math.ceil(free * mutation_fraction)
    sources = list(dict.fromkeys(mutation_sources)) or row[:num_parents]
    for i in range(free):
        for attempt in range(20):
            if i < num_mutations and sources:
                # Best-ranked sources first; when a child repeats, the next source gets its turn.
                child = space.mutate(sources[(i + attempt) % len(sources)], rng)
            elif num_parents >= 2:
                a, b = rng.choice(num_parents, size=2, replace=False)
                child = space.crossover(row[int(a)], row[int(b)], rng)
            else:
                child = space.sample(rng)
            if child not in row:
                row.append(child)
                break
        else:
            row.append(_fresh_sample(space, row, rng))
    return row


def _fresh_sample(space: CellSpace[Any], row: Sequence[Any], rng: np.random.Generator) -> Any:
    """A uniform sample of the space that is not in ``row``."""
    for _ in range(100_000):
        cell = space.sample(rng)
        if cell not in row:
            return cell
    raise RuntimeError(f"could not find a cell outside a row of {len(row)} in a space of {len(space)}")


class EvolutionSearcher(BatchSearcher):
    """DARTS-PD evolutionary path selection as a Tune searcher (see the module docstring).

    Run it as ``BatchSearcher``'s example shows; ``best(n)`` are the archive's paths.
    """

    RESULT_KEYS = ("top_paths", "top_log_ranks", "kept", "path_indices", "path_val_acc")
    MIN_WINDOW = 2  # at least one parent and one child per row
    SETTINGS: ClassVar[tuple[str, ...]] = (
        *BatchSearcher.SETTINGS, "prune_k", "fair_epochs", "eval_paths", "mutation_fraction", "archive_size"
    )

    def __init__(
        self,
        space: CellSpace[Any],
        depth: int,
        window: int,
        iterations: int,
        prune_k: int = 2,
        fair_epochs: int = 1,
        eval_paths: int = 8,
        *,
        mutation_fraction: float = 0.5,
        archive_size: int = 100,
        **options: Unpack[BatchOptions],
    ) -> None:
        super().__init__(space, depth, window, iterations, **options)
        self.prune_k = check_int("prune_k", prune_k, 1, self.window - 1)
        self.fair_epochs = check_int("fair_epochs", fair_epochs, 0)
        self.eval_paths = check_int("eval_paths", eval_paths, 1)
        self.mutation_fraction = check_float(
            "mutation_fraction", mutation_fraction, 0.0, 1.0, low_open=False, high_open=False
        )
        self.archive_size = check_int("archive_size", archive_size, 1)
        self._population: list[list[Any]] | None = None  # cell JSON per row
        self._archive: list[dict[str, Any]] = []  # best paths first

    def _best_paths(self, n: int) -> list[PathRecord]:
        """The archive's ``n`` paths of best path-wise validation accuracy over all iterations, best first.

        So ``final_path`` is DARTS-PD's choice, not the best-ranked path of one iteration.
        """
        return [
            PathRecord(
                iteration=e["iteration"],
                indices=tuple(e["indices"]),
                cells=tuple(e["cells"]),
                score=e["val_acc"],
                metric=e["metric"],
            )
            for e in self._archive[:n]
        ]

    def _propose(self) -> Proposal:
        if self._population is None:
            rows = [self.distinct_row([], self._rng) for _ in range(self.depth)]
            self._population = [[self.space.encode(c) for c in row] for row in rows]
        train = {"prune_k": self.prune_k, "fair_epochs": self.fair_epochs, "eval_paths": self.eval_paths}
        return Proposal(cells=[list(row) for row in self._population], extra_config={"train": train})

    def _kept(self, results: list[dict[str, Any]], alpha: FloatArray) -> list[list[int]]:
        reported = [r.get("kept") for r in results]
        first = reported[0]
        valid = (
            isinstance(first, list)
            and len(first) == self.depth
            and all(
                isinstance(row, list)
                and 1 <= len(row) <= self.window
                and all(isinstance(j, int) and 0 <= j < self.window for j in row)
                for row in first
            )
        )
        if valid and all(r == first for r in reported):
            assert isinstance(first, list)
            return [list(dict.fromkeys(row)) for row in first]
        return [[int(j) for j in np.argsort(-row, kind="stable")[: self.prune_k]] for row in alpha]

    def _ranked_paths(self, results: list[dict[str, Any]]) -> list[tuple[tuple[int, ...], float]]:
        """Evaluated paths with their accuracy averaged over repeats, best first (ties: smaller path)."""
        scores: dict[tuple[int, ...], list[float]] = {}
        for result in results:
            paths, accs = result.get("path_indices"), result.get("path_val_acc")
            if not isinstance(paths, list) or not isinstance(accs, list) or len(paths) != len(accs):
                logger.warning("result without matching path_indices/path_val_acc; its paths are skipped")
                continue
            for path, acc in zip(paths, accs, strict=True):
                if (
                    isinstance(path, list)
                    and len(path) == self.depth
                    and all(isinstance(j, int) and 0 <= j < self.window for j in path)
                    and isinstance(acc, int | float)
                    and math.isfinite(acc)
                ):
                    scores.setdefault(tuple(path), []).append(float(acc))
                else:
                    logger.warning("malformed path %r with accuracy %r skipped", path, acc)
        ranked = [(path, float(np.mean(accs))) for path, accs in scores.items()]
        return sorted(ranked, key=lambda item: (-item[1], item[0]))

    def _finish(
        self, proposal: Proposal, results: list[dict[str, Any]], alpha: FloatArray | None
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "kept": None,
            "paths": [],
            "best_path": None,
            "best_cells": None,
            "best_val_acc": None,
            "log_rank": None,
        }
        if alpha is None or self._population is None:
            return record
        cells = proposal.cells
        kept = self._kept(results, alpha)
        ranked = self._ranked_paths(results)
        metric = [r["metric"] for r in results if r["metric"] is not None]
        iteration_metric = float(np.mean(metric)) if metric else None
        for path, acc in ranked:
            self._add_to_archive(path, [cells[row][j] for row, j in enumerate(path)], acc, iteration_metric)
        record["kept"] = kept
        record["paths"] = [{"indices": list(path), "val_acc": acc} for path, acc in ranked]
        if ranked:
            record.update(path_fields(cells, ranked[0][0], alpha))
            record["best_val_acc"] = ranked[0][1]
        population = []
        for row in range(self.depth):
            decoded = [self.space.decode(obj) for obj in cells[row]]
            sources = [decoded[path[row]] for path, _ in ranked]
            parents = [decoded[j] for j in kept[row]]
            new_row = next_row(self.space, parents, sources, self.window, self.mutation_fraction, self._rng)
            population.append([self.space.encode(c) for c in new_row])
        self._population = population
        return record

    def _add_to_archive(
        self, path: tuple[int, ...], cells: list[Any], acc: float, metric: float | None
    ) -> None:
        key = json.dumps(cells, sort_keys=True)
        for entry in self._archive:
            if json.dumps(entry["cells"], sort_keys=True) == key:
                if acc <= entry["val_acc"]:
                    return
                self._archive.remove(entry)
                break
        self._archive.append(
            to_json(
                {
                    "iteration": self._iteration,
                    "indices": list(path),
                    "cells": cells,
                    "val_acc": acc,
                    "metric": metric,
                }
            )
        )
        self._archive.sort(key=lambda e: (-e["val_acc"], e["iteration"]))
        del self._archive[self.archive_size :]

    def _algorithm_state(self) -> dict[str, Any]:
        return {"population": self._population, "archive": self._archive}

    def _set_algorithm_state(self, state: Mapping[str, Any]) -> None:
        self._population = state["population"]
        self._archive = list(state["archive"])
