"""The rank check against a benchmark table, without Ray: which cells, the rows, the summary."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hiernas.benchmark_table import BenchmarkTable
from hiernas.fade.rank_validation import RankSources
from hiernas.fade.table_ranks import cell_rows, cells_across_range, summarise_table_ranks
from spaces.nb201 import OPS, Nb201Cell


def table(n: int = 40) -> BenchmarkTable:
    cells = itertools.islice(itertools.product(OPS, repeat=6), n)
    return BenchmarkTable("acc", {Nb201Cell(ops).arch_str: 10.0 + k for k, ops in enumerate(cells)})


def test_cells_span_the_accuracy_range_from_lowest_to_highest() -> None:
    t = table()
    chosen = cells_across_range(t, 5)
    accs = [t.accuracy(a) for a in chosen]
    assert accs == sorted(accs) and accs[0] == 10.0 and accs[-1] == 49.0 and len(set(chosen)) == 5
    with pytest.raises(ValueError, match="2..40"):
        cells_across_range(t, 41)


def test_rows_score_the_path_with_one_cell_in_every_row() -> None:
    t = table()
    archs = cells_across_range(t, 3)
    log_p = np.log(np.array([[0.2, 0.3, 0.5], [0.1, 0.3, 0.6]]))
    perturbation = np.array([[0.3, 0.2, 0.1], [0.0, 0.0, 0.0]])  # the best cell in the table scores lowest
    ranks = RankSources(log_p, {(0, 0): 0.1, (1, 1): 0.5, (2, 2): 0.9}, {"perturbation": perturbation},
                        {"alpha": 0.5})
    rows = cell_rows(archs, t, ranks)
    assert [r["log_rank"] for r in rows] == pytest.approx([np.log(0.02), np.log(0.09), np.log(0.3)])
    assert [r["perturbation_score"] for r in rows] == pytest.approx([0.3, 0.2, 0.1])
    summary = summarise_table_ranks(rows, t, {"alpha": 0.5, "pathwise": None}, {})
    assert summary["sources"]["alpha"]["spearman_rho"] == pytest.approx(1.0)
    assert summary["sources"]["pathwise"]["kendall_tau"] == pytest.approx(1.0)
    assert summary["sources"]["perturbation"]["spearman_rho"] == pytest.approx(-1.0)
    assert "perturbation_loss" not in summary["sources"]  # not scored
    unscored = cell_rows(archs, t, RankSources(log_p, {}, {}, {}))
    assert set(summarise_table_ranks(unscored, t, {}, {})["sources"]) == {"alpha", "alpha_rows"}
    assert summary["ground_truth"]["column"] == "acc" and "not trained here" in summary["ground_truth"]["note"]
