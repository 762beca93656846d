"""A Ray Tune trainable that answers from a benchmark table instead of training (no torch, no GPU).

``tabular_trainable(config)`` is a plain function trainable: every Tune searcher can run on a benchmark
(NAS-Bench-201's table of 15,625 cells) through real Tune trials at no training cost. Its config is a
``TabularConfig`` dict: the table (``table``: a CSV path, ``column``; ``hiernas.benchmark_table``), the
rank model (``temperature``, ``noise``, ``arch_noise``), ``seed``, and what to evaluate, one of:

- **a hyper-architecture** (``cells``: ``depth`` rows of ``window`` architecture strings, what the
  ``searchers`` BatchSearchers hand out, with their ``seed`` and, for DARTS-PD evolution, ``train``).
  Cell ``j`` of row ``i`` gets the logit ``z_ij = acc_ij / temperature + noise * N(0, 1)`` (``acc`` in
  percent) and the one final report carries what ``hyper_trainable`` reports and the searchers read
  (``searchers.base.BatchSearcher._extract``, docs/CONTRACTS.md): ``alpha`` = the row-wise softmax of
  ``z`` (softmaxed, like a trained hyper-architecture's: FaDE's pseudo-gradient steps on it,
  ``parse_alpha`` refuses negative values), ``alpha_logits`` = ``z``, ``top_paths`` and ``top_log_ranks``
  (the best paths by log FaDE rank), ``val_acc`` = the *measured* accuracy of the row-argmax path: the
  mean over rows of ``temperature * z`` at the argmax, / 100 (the table accuracy at ``noise`` 0; the
  searchers rank iterations by it, so it carries the same noise as alpha), ``table_acc`` = that path's
  exact table accuracy / 100 (for analysis; no searcher reads it), ``epoch`` 1 and ``final`` True.
  With ``train.prune_k > 0`` (``EvolutionSearcher``) also DARTS-PD's fields: ``kept`` (per row the
  ``prune_k`` largest alphas), ``path_indices`` (the paths through the kept cells, a seeded sample of
  ``eval_paths`` of them when there are more) and ``path_val_acc``: each path's mean over rows of
  ``temperature * z'`` / 100, with ``z'`` an independent draw of the same noise (a second measurement,
  as DARTS-PD's path-wise evaluation after fair training is). Rows are independent, so a path of
  several rows scores the mean of its cells' accuracies: a stand-in; the table has one cell per network.
- **a discrete architecture** (``arch``: one architecture string, what ``searchers.rea.REASearcher``
  hands out): ``val_acc`` = ``(acc + arch_noise * N(0, 1)) / 100`` (the exact table accuracy at the
  default ``arch_noise`` 0), ``table_acc`` = ``acc / 100``, ``epoch`` 1, ``final`` True.

The noise is seeded by ``seed`` and the evaluated cells together, so a trial is reproducible, two trials
of the same row with different seeds (the BatchSearchers' repeats) draw independently, and a discrete
architecture evaluated twice under one seed measures the same value. An architecture the table does not
hold (or a malformed one) fails the trial with the table's one-line ``DataError``. Each worker process
loads a table once (``load_cached``: keyed by path, column, modification time and size), so thousands
of trials on re-used actors do not re-read the CSV. A driver that starts many short Tune runs (each with
fresh actors) hands the table over once instead: ``tune.with_parameters(tabular_trainable,
table=TableData.of(load_table(path)))`` ships it through Ray's object store, and the trial answers from
it without reading, parsing or importing the space (about 1.4 s less per actor start for
NAS-Bench-201's 15,625 rows); ``config["table"]`` then only names it. Example::

    from ray import tune
    from hiernas.tune.tabular import TabularConfig, tabular_trainable
    base = TabularConfig(table="nb201_cifar10.csv", temperature=1.0, noise=0.5).to_dict()
    tune.Tuner(tabular_trainable, param_space={k: v for k, v in base.items() if k not in ("cells", "arch")},
               tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1)).fit()
"""

from __future__ import annotations

import itertools
import json
import math
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from ray import tune

from hiernas.config import ConfigBase
from hiernas.errors import DataError
from hiernas.fade.ranks import log_softmax_rows, top_paths

if TYPE_CHECKING:
    from hiernas.benchmark_table import BenchmarkTable

__all__ = ["TableData", "TabularConfig", "TabularTrain", "load_cached", "tabular_metrics", "tabular_trainable"]


class AccuracyTable(Protocol):
    """What a tabular trial needs of a table (``BenchmarkTable`` and ``TableData`` have it)."""

    def accuracy(self, cell: Any) -> float: ...


# (absolute path, column, mtime_ns, size) -> table, per worker process
_TABLES: dict[tuple[str, str | None, int, int], BenchmarkTable] = {}


def load_cached(path: str, column: str | None = None) -> BenchmarkTable:
    """``load_table(path, column)``, read once per process while the file stays the same."""
    from hiernas.benchmark_table import load_table  # imported here: it imports the space (networkx)

    absolute = os.path.abspath(os.path.expanduser(path))
    try:
        stat = os.stat(absolute)
    except OSError:
        return load_table(path, column)  # its one-line DataError names the problem
    key = (absolute, column, stat.st_mtime_ns, stat.st_size)
    table = _TABLES.get(key)
    if table is None:
        table = load_table(absolute, column)
        for old in [k for k in _TABLES if k[:2] == key[:2]]:
            del _TABLES[old]  # the file changed: forget its old contents
        _TABLES[key] = table
    return table


@dataclass(frozen=True)
class TableData:
    """A loaded table as plain data (picklable, unlike ``BenchmarkTable``), to hand to trials at once.

    Its keys are the table's canonical architecture strings, which the spaces' ``encode`` produces; any
    other spelling is parsed (importing the space) before the lookup fails with the table's ``DataError``.
    """

    column: str
    accuracies: dict[str, float]

    @classmethod
    def of(cls, table: BenchmarkTable) -> TableData:
        """The data of a loaded ``BenchmarkTable``."""
        return cls(table.column, dict(table.accuracies))

    def accuracy(self, cell: Any) -> float:
        """The accuracy (percent) of ``cell`` (an architecture string or cell); ``DataError`` if absent."""
        if isinstance(cell, str) and cell in self.accuracies:
            return self.accuracies[cell]
        from hiernas.benchmark_table import canonical_arch  # imported here: it imports the space (networkx)

        key = canonical_arch(cell)
        if key not in self.accuracies:
            raise DataError(
                f"benchmark table {self.column!r} ({len(self.accuracies)} architectures) has no entry for {key!r}"
            )
        return self.accuracies[key]


@dataclass(frozen=True)
class TabularTrain(ConfigBase):
    """DARTS-PD's stage settings as ``EvolutionSearcher`` merges them into a trial config (``train``).

    ``fair_epochs`` trains nothing here; ``epochs`` is accepted so a param_space shared with
    ``hyper_trainable`` passes.
    """

    prune_k: int = 0  # > 0: report kept, path_indices and path_val_acc
    fair_epochs: int = 0
    eval_paths: int = 8
    epochs: int = 1

    def __post_init__(self) -> None:
        if int(self.prune_k) < 0 or int(self.eval_paths) < 1:
            raise ValueError(f"train.prune_k must be >= 0 and eval_paths >= 1, got {self.prune_k} and "
                             f"{self.eval_paths}")


@dataclass(frozen=True)
class TabularConfig(ConfigBase):
    """One tabular trial: the table, the rank model, and the cells (``cells``) or architecture (``arch``)."""

    table: str = ""  # CSV with an 'arch' column and an accuracy column in percent
    column: str | None = None  # the accuracy column; None: the only column besides 'arch'
    temperature: float = 1.0  # percentage points per unit of logit: alpha = softmax(acc / temperature + noise)
    noise: float = 0.0  # std of the Gaussian noise on each logit (hyper-architectures)
    arch_noise: float = 0.0  # std of the Gaussian noise on a discrete architecture's accuracy, in points
    seed: int = 0
    top_k: int = 5  # paths in top_paths
    cells: tuple[tuple[str, ...], ...] | None = None  # depth x window architecture strings
    arch: str | None = None  # one architecture string
    train: TabularTrain = field(default_factory=TabularTrain)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.table:
            raise ValueError("TabularConfig needs table: the path of a benchmark CSV")
        for name, low in (("temperature", None), ("noise", 0.0), ("arch_noise", 0.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
            if (low is None and value <= 0) or (low is not None and value < low):
                raise ValueError(f"{name} must be {'> 0' if low is None else '>= 0'}, got {value!r}")
        if int(self.top_k) < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        if (self.cells is None) == (self.arch is None):
            raise ValueError("a tabular trial evaluates either cells (a hyper-architecture) or arch (one "
                             "architecture), exactly one of them")
        if self.cells is not None and (not self.cells or any(not row for row in self.cells)):
            raise ValueError(f"cells must be non-empty rows of architecture strings, got {self.cells!r}")


def _noise_rng(seed: int, evaluated: Any) -> np.random.Generator:
    """A generator seeded by the trial seed and the evaluated cells (module docstring)."""
    digest = zlib.crc32(json.dumps(evaluated, sort_keys=True).encode())
    return np.random.default_rng([int(seed) % 2**63, digest])


def _hyper_metrics(config: TabularConfig, table: AccuracyTable) -> dict[str, Any]:
    assert config.cells is not None
    widths = {len(row) for row in config.cells}
    if len(widths) != 1:
        raise ValueError(f"every row of cells must have the same number of candidates, got {sorted(widths)}")
    acc = np.array([[table.accuracy(arch) for arch in row] for row in config.cells], dtype=np.float64)
    rng = _noise_rng(config.seed, config.cells)
    temperature = float(config.temperature)
    logits = acc / temperature + config.noise * rng.standard_normal(acc.shape)
    log_p = log_softmax_rows(logits)
    rows = np.arange(acc.shape[0])
    best = np.argmax(logits, axis=1)
    depth, window = acc.shape
    ranked = top_paths(log_p, min(int(config.top_k), window**depth))
    metrics: dict[str, Any] = {
        "epoch": 1,
        "alpha": np.exp(log_p).tolist(),
        "alpha_logits": logits.tolist(),
        "top_paths": [list(r.path) for r in ranked],
        "top_log_ranks": [r.log_rank for r in ranked],
        "val_acc": float(np.mean(temperature * logits[rows, best])) / 100.0,
        "table_acc": float(np.mean(acc[rows, best])) / 100.0,
        "final": True,
    }
    k = int(config.train.prune_k)
    if k > 0:
        kept = [sorted(np.argsort(-row, kind="stable")[: min(k, window)].tolist()) for row in logits]
        paths = [list(p) for p in itertools.product(*kept)]
        if len(paths) > config.train.eval_paths:
            chosen = sorted(rng.choice(len(paths), size=config.train.eval_paths, replace=False).tolist())
            paths = [paths[i] for i in chosen]
        measured = temperature * (acc / temperature + config.noise * rng.standard_normal(acc.shape))
        metrics["kept"] = kept
        metrics["path_indices"] = paths
        metrics["path_val_acc"] = [float(np.mean(measured[rows, path])) / 100.0 for path in paths]
    return metrics


def tabular_metrics(
    config: Mapping[str, Any] | TabularConfig, table: AccuracyTable | None = None
) -> dict[str, Any]:
    """The one report of a tabular trial (module docstring), without Ray; ``DataError`` for an architecture
    the table lacks, ``ValueError`` for a bad config. ``table``: answer from it instead of ``config.table``."""
    cfg = config if isinstance(config, TabularConfig) else TabularConfig.from_dict(config)
    if table is None:
        table = load_cached(cfg.table, cfg.column)
    if cfg.cells is not None:
        return _hyper_metrics(cfg, table)
    if not isinstance(cfg.arch, str):
        raise DataError(f"arch must be an architecture string, got {cfg.arch!r}")
    acc = table.accuracy(cfg.arch)
    measured = acc + cfg.arch_noise * float(_noise_rng(cfg.seed, cfg.arch).standard_normal())
    return {"epoch": 1, "val_acc": measured / 100.0, "table_acc": acc / 100.0, "final": True}


def tabular_trainable(config: dict[str, Any], table: TableData | None = None) -> None:
    """Tune trainable: one report answered from the benchmark table (``TabularConfig`` dict); ``table``
    (through ``tune.with_parameters``) replaces reading ``config["table"]``."""
    tune.report(tabular_metrics(config, table))
