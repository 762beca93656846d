"""Tests of the NAS-Bench-201 lookup tables: CSV loading, its one-line errors, lookups, the NATS-Bench path."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from hiernas.benchmark_table import BenchmarkTable, load_nats_bench, load_table
from hiernas.errors import DataError
from spaces.nb201 import Nb201Cell, Nb201Space

SPACE = Nb201Space(feature_names=("depth",))
A, B, C = (SPACE.cells[i].arch_str for i in (0, 1234, 15_624))


def _write(tmp_path: Path, text: str, name: str = "table.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_load_picks_the_only_accuracy_column(tmp_path: Path) -> None:
    path = _write(tmp_path, f"arch,cifar10_test_acc\n{A},10.0\n{B},93.66\n\n{C},85.8633\n")
    table = load_table(path)
    assert len(table) == 3 and table.column == "cifar10_test_acc"
    assert table.accuracy(B) == 93.66 and table.accuracy(SPACE.cells[1234]) == 93.66
    assert table.best() == (B, 93.66)
    assert table.covers(A) and table.covers(SPACE.cells[0]) and not table.covers(SPACE.cells[1])


def test_named_column_among_several(tmp_path: Path) -> None:
    path = _write(tmp_path, f"valid,arch,test\n80,{A},81\n90,{B},70\n")
    assert load_table(path, column="test").best() == (A, 81.0)
    assert load_table(path, column="valid").best() == (B, 90.0)
    with pytest.raises(DataError, match=r"columns \['valid', 'test'\] besides 'arch'"):
        load_table(path)
    with pytest.raises(DataError, match="no accuracy column 'train'"):
        load_table(path, column="train")
    with pytest.raises(DataError, match="no accuracy column 'arch'"):
        load_table(path, column="arch")


def test_unknown_architecture_is_a_data_error(tmp_path: Path) -> None:
    table = load_table(_write(tmp_path, f"arch,acc\n{A},50\n"))
    with pytest.raises(DataError, match=re.escape(f"has no entry for '{B}'")):
        table.accuracy(B)
    with pytest.raises(DataError, match="node 2 has 1 edge"):
        table.accuracy("|none~0|+|none~0|+|none~0|none~1|none~2|")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        ("architecture,acc\nx,1\n", "has no 'arch' column"),
        ("arch\n", "no column besides 'arch'"),
        ("arch,acc\n", "has a header but no rows"),
        (f"arch,acc\n{A},1\n|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|,2\n",
         "line 3: bad NAS-Bench-201 architecture .* unknown operation 'conv' in 'conv~0'"),
        (f"arch,acc\n{A},high\n", "line 2: accuracy 'high' is not a number"),
        (f"arch,acc\n{A},nan\n", "line 2: accuracy 'nan' is not a percentage"),
        (f"arch,acc\n{A},193.1\n", "line 2: accuracy '193.1' is not a percentage"),
        (f"arch,acc\n{A},1\n{B},2\n{A},3\n", "line 4: duplicate architecture .* \\(first on line 2\\)"),
        (f"arch,acc\n{A},1,2\n", "line 2: 3 field\\(s\\), expected 2"),
    ],
)
def test_bad_tables_are_one_line_data_errors(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(DataError, match=message) as caught:
        load_table(path)
    assert "\n" not in str(caught.value) and "table.csv" in str(caught.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_table(str(tmp_path / "missing.csv"))
    with pytest.raises(DataError, match="is not a file"):
        load_table(str(tmp_path))


def test_binary_file_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_bytes(b"arch,acc\n\xff\xfe\x00\n")
    with pytest.raises(DataError, match="not UTF-8"):
        load_table(str(path))


def test_table_built_directly_canonicalises_and_checks() -> None:
    table = BenchmarkTable("acc", {f" {A} ": 1.0, Nb201Cell(("skip_connect",) * 6).arch_str: 2.0})
    assert table.covers(A) and table.best()[1] == 2.0
    with pytest.raises(TypeError):
        table.accuracies[A] = 3.0  # type: ignore[index]
    with pytest.raises(DataError, match="appears twice"):
        BenchmarkTable("acc", {A: 1.0, f"{A} ": 2.0})
    with pytest.raises(DataError, match="is empty"):
        BenchmarkTable("acc", {}).best()


def test_best_breaks_ties_by_string() -> None:
    assert BenchmarkTable("acc", {C: 5.0, A: 5.0, B: 4.0}).best() == (min(A, C), 5.0)


def test_nats_bench_missing_package_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nats_bench", None)  # import fails even where it is installed
    with pytest.raises(DataError, match="package 'nats_bench', which is not installed") as caught:
        load_nats_bench(None)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"dataset": "mnist"}, "no data set 'mnist'"), ({"hp": "90"}, "no schedule hp='90'")],
)
def test_nats_bench_arguments_are_checked_first(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_nats_bench(None, **kwargs)


def test_nats_bench_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_nats_bench(str(tmp_path / "NATS-tss-v1_0-3ffb9-simple"))


def test_nats_bench_table_through_the_package_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for the package's documented calls: create(), len(), arch(i), get_more_info()."""
    archs = [A, B, C]
    calls: list[tuple[Any, ...]] = []

    class Api:
        def __len__(self) -> int:
            return len(archs)

        def arch(self, index: int) -> str:
            return archs[index]

        def get_more_info(self, index: int, dataset: str, hp: str, is_random: bool) -> dict[str, float]:
            calls.append((dataset, hp, is_random))
            return {"test-accuracy": 90.0 + index, "train-accuracy": 99.0}

    def create(path: str | None, space: str, fast_mode: bool, verbose: bool) -> Api:
        calls.append((path, space, fast_mode))
        return Api()

    module = types.ModuleType("nats_bench")
    module.create = create  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nats_bench", module)
    table = load_nats_bench(None, dataset="cifar100", hp="12")
    assert table.column == "cifar100_test_acc" and len(table) == 3 and table.best() == (C, 92.0)
    assert calls[0] == (None, "tss", True) and set(calls[1:]) == {("cifar100", "12", False)}
