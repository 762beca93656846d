"""The tabular trainable: benchmark-table answers in real Tune trials, and FaDE searching NAS-Bench-201 on it."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np
import pytest
from ray import tune

from hiernas.errors import DataError
from hiernas.tune.runtime import make_tuner
from hiernas.tune.tabular import TableData, TabularConfig, load_cached, tabular_metrics, tabular_trainable
from searchers.fade import FaDESearcher
from spaces.nb201 import OPS, Nb201Cell, Nb201Space


def write_table(path: Path, rows: dict[str, float]) -> str:
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["arch", "made_up_acc"])
        writer.writerows(rows.items())
    return str(path)


@pytest.fixture(scope="module")
def small_table(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, float]]:
    """50 cells of the space with arbitrary accuracies."""
    space, rng = Nb201Space(), np.random.default_rng(0)
    cells = [space.cells[int(i)] for i in rng.choice(len(space), size=50, replace=False)]
    rows = {cell.arch_str: round(float(rng.uniform(10, 95)), 3) for cell in cells}
    return write_table(tmp_path_factory.mktemp("table") / "small.csv", rows), rows


@pytest.fixture(scope="module")
def full_table(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Every cell; accuracy grows with the 3x3 convolutions and the skips."""
    rows = {Nb201Cell(ops).arch_str: 50 + 7 * ops.count("nor_conv_3x3") + ops.count("skip_connect")
            for ops in itertools.product(OPS, repeat=6)}
    return write_table(tmp_path_factory.mktemp("table") / "full.csv", rows)


def test_hyper_metrics_rank_the_row_by_the_table(small_table: tuple[str, dict[str, float]]) -> None:
    path, rows = small_table
    archs = sorted(rows, key=rows.__getitem__)
    low, mid, high = archs[0], archs[25], archs[-1]
    cells = [[low, high, mid], [high, low, mid]]
    metrics = tabular_metrics({"table": path, "cells": cells, "seed": 1, "temperature": 5.0})
    alpha = np.array(metrics["alpha"])
    assert alpha.shape == (2, 3) and np.allclose(alpha.sum(axis=1), 1) and np.all(alpha >= 0)
    assert metrics["top_paths"][0] == [1, 0] and metrics["final"] is True
    assert metrics["val_acc"] == pytest.approx(rows[high] / 100) == metrics["table_acc"]
    logits = np.array(metrics["alpha_logits"])
    assert logits[0, 1] - logits[0, 2] == pytest.approx((rows[high] - rows[mid]) / 5.0)
    # noise: reproducible per seed, different across seeds
    noisy = {"table": path, "cells": cells, "noise": 3.0, "train": {"prune_k": 2, "eval_paths": 3}}
    first, again = tabular_metrics({**noisy, "seed": 7}), tabular_metrics({**noisy, "seed": 7})
    assert first == again and first["alpha"] != tabular_metrics({**noisy, "seed": 8})["alpha"]
    assert all(len(k) == 2 for k in first["kept"]) and len(first["path_indices"]) == 3
    assert all(path[r] in first["kept"][r] for path in first["path_indices"] for r in range(2))
    discrete = tabular_metrics({"table": path, "arch": mid, "arch_noise": 0.0})
    assert discrete["val_acc"] == pytest.approx(rows[mid] / 100)
    assert load_cached(path) is load_cached(path)  # read once per process
    data = TableData.of(load_cached(path))
    assert tabular_metrics({"table": path, "cells": cells, "seed": 1}, data) == tabular_metrics(
        {"table": path, "cells": cells, "seed": 1})
    with pytest.raises(DataError, match="has no entry"):
        data.accuracy(Nb201Cell(("none",) * 6))
    with pytest.raises(ValueError, match="exactly one"):
        TabularConfig(table=path)
    with pytest.raises(ValueError, match="temperature"):
        TabularConfig(table=path, arch=mid, temperature=0)


def test_tabular_trainable_in_real_tune_trials(
    ray_session: None, small_table: tuple[str, dict[str, float]], tmp_path: Path
) -> None:
    path, rows = small_table
    archs = sorted(rows, key=rows.__getitem__)
    unknown = next(c.arch_str for c in Nb201Space().cells if c.arch_str not in rows)
    tuner = make_tuner(tabular_trainable, name="tabular", storage_path=str(tmp_path), max_failures=0,
                       param_space={"table": path, "seed": 3, "arch": tune.grid_search([archs[20], unknown])},
                       metric="val_acc", mode="max")
    grid = tuner.fit()
    by_arch = {r.config["arch"]: r for r in grid}
    assert by_arch[archs[20]].metrics["val_acc"] == pytest.approx(rows[archs[20]] / 100)
    error = str(by_arch[unknown].error)
    assert "DataError" in error and "has no entry for" in error and unknown in error
    hyper = make_tuner(tabular_trainable, name="tabular_hyper", storage_path=str(tmp_path), max_failures=0,
                       param_space={"table": path, "seed": 3, "cells": [[archs[3], archs[40], archs[10]]]},
                       metric="val_acc", mode="max").fit()
    alpha = hyper[0].metrics["alpha"][0]
    assert alpha.index(max(alpha)) == 1 and hyper[0].metrics["top_paths"][0] == [1]  # noise 0: the better one


def test_fade_over_nb201_cells_in_tune(ray_session: None, full_table: str, tmp_path: Path) -> None:
    searcher = FaDESearcher(Nb201Space(), depth=2, window=4, iterations=3, gamma=0.3, step=3.0, seed=5)
    tuner = make_tuner(tabular_trainable, name="fade_nb201", storage_path=str(tmp_path), max_failures=0,
                       param_space={"table": full_table, "noise": 0.5}, search_alg=searcher, num_samples=-1,
                       metric="val_acc", mode="max", max_concurrent_trials=1)
    grid = tuner.fit()
    assert not grid.errors and len(grid) == 3 and searcher.finished
    space, table = Nb201Space(), load_cached(full_table)
    for record in searcher.history:
        assert record["status"] == "ok" and len(record["cells"]) == 2
        assert all(len(row) == 4 and len(set(row)) == 4 for row in record["cells"])
        assert np.array(record["alpha"]).shape == (2, 4)
        assert len(record["best_cells"]) == 2 and all(table.covers(space.decode(c)) for c in record["best_cells"])
        assert np.array(record["anchors_after"]).shape == (2, space.dim)
    best = searcher.best(1)[0]
    assert best.metric == pytest.approx(np.mean([table.accuracy(c) for c in best.cells]) / 100, abs=0.05)
