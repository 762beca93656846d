"""NAS-Bench-201 lookup tables: the accuracy of every cell, so a search can be scored without training.

A table comes from a CSV file (column ``arch`` holds the benchmark's architecture string, one more column
the accuracy in percent, as the benchmark reports it, e.g. 93.66) or from the official ``nats_bench``
package (the optional extra ``nats``). Bad input is a one-line ``DataError`` naming the file and the line.
"""

from __future__ import annotations

import csv
import importlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from hiernas.errors import DataError
from spaces.nb201 import Nb201Cell, parse_arch

__all__ = ["ARCH_COLUMN", "BENCHMARK_NOTE", "NATS_DATASETS", "NATS_HPS", "BenchmarkTable", "benchmark_entry",
           "canonical_arch", "load_nats_bench", "load_table"]

ARCH_COLUMN = "arch"
NATS_DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
NATS_HPS = ("12", "200")  # training epochs of the topology benchmark's two schedules


def canonical_arch(cell: Nb201Cell | str) -> str:
    """The canonical architecture string of ``cell``; a malformed string is a ``DataError``."""
    if isinstance(cell, Nb201Cell):
        return cell.arch_str
    try:
        return parse_arch(cell).arch_str
    except ValueError as error:
        raise DataError(str(error)) from None


@dataclass(frozen=True)
class BenchmarkTable:
    """Accuracy (percent) per architecture string in the column ``column`` of a benchmark."""

    column: str
    accuracies: Mapping[str, float] = field(hash=False)

    def __post_init__(self) -> None:
        table: dict[str, float] = {}
        for arch, value in self.accuracies.items():
            key = canonical_arch(arch)
            if key in table:
                raise DataError(f"benchmark table {self.column!r}: architecture {key!r} appears twice")
            table[key] = float(value)
        object.__setattr__(self, "accuracies", MappingProxyType(table))

    def __len__(self) -> int:
        return len(self.accuracies)

    def covers(self, cell: Nb201Cell | str) -> bool:
        """Whether the table holds ``cell`` (a malformed architecture string is a ``DataError``)."""
        return canonical_arch(cell) in self.accuracies

    def accuracy(self, cell: Nb201Cell | str) -> float:
        """The accuracy of ``cell``; ``DataError`` when the table lacks it."""
        key = canonical_arch(cell)
        if key not in self.accuracies:
            raise DataError(
                f"benchmark table {self.column!r} ({len(self)} architectures) has no entry for {key!r}"
            )
        return self.accuracies[key]

    def best(self) -> tuple[str, float]:
        """The architecture string with the highest accuracy and that accuracy (ties: the smallest string)."""
        if not self.accuracies:
            raise DataError(f"benchmark table {self.column!r} is empty")
        arch = min(self.accuracies, key=lambda a: (-self.accuracies[a], a))
        return arch, self.accuracies[arch]


def _pick_column(path: Path, header: list[str], column: str | None) -> int:
    """Position of the accuracy column: ``column``, or the only column besides ``arch``."""
    if column is not None:
        if column == ARCH_COLUMN or column not in header:
            raise DataError(f"benchmark table {path} has no accuracy column {column!r} (columns: {header})")
        return header.index(column)
    others = [name for name in header if name != ARCH_COLUMN]
    if len(others) != 1:
        found = f"columns {others} besides {ARCH_COLUMN!r}" if others else f"no column besides {ARCH_COLUMN!r}"
        raise DataError(f"benchmark table {path} has {found}; name the accuracy column to use")
    return header.index(others[0])


def _accuracy(text: str) -> float:
    """A finite accuracy in percent, 0..100; ``ValueError`` says what is wrong with ``text``."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"accuracy {text!r} is not a number") from None
    if not math.isfinite(value) or not 0.0 <= value <= 100.0:
        raise ValueError(f"accuracy {text!r} is not a percentage in 0..100")
    return value


def load_table(path: str, column: str | None = None) -> BenchmarkTable:
    """Read a CSV of architecture strings (column ``arch``) and accuracies (``column``, or the only other)."""
    source = Path(path).expanduser()
    expected = f"expected a CSV file with an {ARCH_COLUMN!r} column and an accuracy column"
    if not source.is_file():
        state = "is not a file" if source.exists() else "does not exist"
        raise DataError(f"benchmark table {source} {state} ({expected})")
    try:
        with source.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise DataError(f"benchmark table {source} is empty ({expected})")
            header = [name.strip() for name in header]
            if ARCH_COLUMN not in header:
                raise DataError(f"benchmark table {source} has no {ARCH_COLUMN!r} column (columns: {header})")
            arch_at, value_at = header.index(ARCH_COLUMN), _pick_column(source, header, column)
            table: dict[str, float] = {}
            first_line: dict[str, int] = {}
            for row in reader:
                line = reader.line_num
                if not row:
                    continue
                try:
                    if len(row) != len(header):
                        raise ValueError(f"{len(row)} field(s), expected {len(header)}")
                    key = parse_arch(row[arch_at]).arch_str
                    if key in table:
                        raise ValueError(f"duplicate architecture {key!r} (first on line {first_line[key]})")
                    table[key] = _accuracy(row[value_at].strip())
                    first_line[key] = line
                except ValueError as error:
                    raise DataError(f"benchmark table {source}, line {line}: {error}") from None
    except UnicodeDecodeError as error:
        raise DataError(f"benchmark table {source} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise DataError(f"benchmark table {source}: not a readable CSV file ({error})") from None
    if not table:
        raise DataError(f"benchmark table {source} has a header but no rows ({expected})")
    return BenchmarkTable(header[value_at], table)


def load_nats_bench(path_or_none: str | None, dataset: str = "cifar10", hp: str = "200") -> BenchmarkTable:
    """The test accuracy of every topology-space cell through the official ``nats_bench`` package.

    ``path_or_none`` is the benchmark file or directory (``None``: the package's default under
    ``$TORCH_HOME``); ``hp`` picks the 12- or 200-epoch schedule. The column is ``<dataset>_test_acc``.
    """
    if dataset not in NATS_DATASETS:
        raise DataError(f"NATS-Bench has no data set {dataset!r} (expected one of {list(NATS_DATASETS)})")
    if hp not in NATS_HPS:
        raise DataError(f"NATS-Bench's topology space has no schedule hp={hp!r} (expected one of {list(NATS_HPS)})")
    if path_or_none is not None and not Path(path_or_none).expanduser().exists():
        raise DataError(f"NATS-Bench file {path_or_none} does not exist (expected the topology benchmark's file)")
    try:
        nats_bench = importlib.import_module("nats_bench")
    except ImportError:
        raise DataError(
            "NATS-Bench needs the package 'nats_bench', which is not installed (pip install nats_bench, "
            "or the extra hiernas[nats])"
        ) from None
    source = None if path_or_none is None else str(Path(path_or_none).expanduser())
    api = nats_bench.create(source, "tss", fast_mode=True, verbose=False)
    table: dict[str, float] = {}
    for index in range(len(api)):
        info = api.get_more_info(index, dataset, hp=hp, is_random=False)
        table[str(api.arch(index))] = float(info["test-accuracy"])
    return BenchmarkTable(f"{dataset}_test_acc", table)


BENCHMARK_NOTE = ("looked up, not trained here: the benchmark's own test accuracy (%) of its network built from "
                  "this cell alone")


def benchmark_entry(table: BenchmarkTable, cells: list[Nb201Cell | str]) -> dict[str, object]:
    """A result file's ``benchmark`` entry for a path (one cell per row): each cell's table accuracy, labelled
    (None for a cell the table does not cover)."""
    archs = [canonical_arch(cell) for cell in cells]
    accuracy = [table.accuracies.get(arch) for arch in archs]
    return {"column": table.column, "note": BENCHMARK_NOTE, "archs": archs, "accuracy": accuracy}
