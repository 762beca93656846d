"""Our ranks against a benchmark table (issue 12, item 8): no stand-alone training, the table is the truth.

A hyper-architecture whose rows all hold the same NAS-Bench-201 cells, chosen across the table's accuracy
range, is trained ``repeats`` times; the paths that use one cell in every row are the architectures the
table covers (the benchmark's network repeats one cell), so each cell gets the scores of that path
(``hiernas.fade.rank_validation.RankSources``): its FaDE rank (the log-probability of that path under the
averaged alpha), its path-wise validation accuracy with the shared weights, and its perturbation score
when the trials scored cells. Spearman's rho and Kendall's tau of each score against the table's accuracy say how well
our ranks order architectures whose 200-epoch accuracy is known. This module holds the part without Ray:
choosing the cells, the summary and its files; ``hiernas.tune.rank_validation`` runs the trainings.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from hiernas.benchmark_table import BENCHMARK_NOTE, BenchmarkTable
from hiernas.fade.rank_validation import RankSources, correlations, format_number, rho_text, scored_sources
from hiernas.results import plot_rank_scatter, write_csv, write_json


def cells_across_range(table: BenchmarkTable, count: int) -> list[str]:
    """``count`` architectures at evenly spaced quantiles of the table's accuracy, lowest to highest
    (ties broken by the architecture string, so the choice is the same on every machine)."""
    if not 2 <= count <= len(table):
        raise ValueError(f"need 2..{len(table)} cells from the table, got {count}")
    ordered = sorted(table.accuracies.items(), key=lambda item: (item[1], item[0]))
    positions = np.unique(np.linspace(0, len(ordered) - 1, count).round().astype(int))
    return [ordered[int(p)][0] for p in positions]


def cell_rows(archs: Sequence[str], table: BenchmarkTable, ranks: RankSources) -> list[dict[str, Any]]:
    """One row per cell: the table's accuracy and our scores of the path with that cell in every row."""
    depth = ranks.log_p.shape[0]
    return [{"arch": arch, "table_acc": table.accuracy(arch), **ranks.scores((k,) * depth)}
            for k, arch in enumerate(archs)]


def summarise_table_ranks(rows: Sequence[dict[str, Any]], table: BenchmarkTable,
                          agreement: dict[str, float | None], extra: dict[str, Any]) -> dict[str, Any]:
    """Per rank source its rho and tau against the table's accuracy (and p-values), and its agreement."""
    truth = [r["table_acc"] for r in rows]
    sources = {name: {**correlations([r[column] for r in rows], truth), "agreement": agreement.get(name)}
               for name, column in scored_sources(rows).items()}
    return {"ground_truth": {"column": table.column, "note": BENCHMARK_NOTE}, "sources": sources,
            "cells": list(rows), **extra}


def describe_table_ranks(summary: dict[str, Any]) -> str:
    """One console line per rank source."""
    number = format_number
    width = max(map(len, summary["sources"]))
    return "\n".join(
        f"{name:{width}s} vs {summary['ground_truth']['column']}: {rho_text(s)}, "
        f"Kendall tau {number(s['kendall_tau'], '+.3f')} "
        f"(p {number(s['kendall_p'], '.3g')}), agreement between repeats {number(s['agreement'], '.3f')} "
        f"over {len(summary['cells'])} cells"
        for name, s in summary["sources"].items()
    )


def write_table_ranks(results_dir: str, summary: dict[str, Any]) -> None:
    """``table_ranks.json``, ``table_cells.csv`` and ``table_rank_scatter.png`` in ``results_dir``."""
    os.makedirs(results_dir, exist_ok=True)
    write_json(os.path.join(results_dir, "table_ranks.json"), summary)
    write_csv(os.path.join(results_dir, "table_cells.csv"), summary["cells"])
    alpha = summary["sources"]["alpha"]
    plot_rank_scatter(os.path.join(results_dir, "table_rank_scatter.png"),
                      [r["log_rank"] for r in summary["cells"]], [r["table_acc"] for r in summary["cells"]],
                      float("nan") if alpha["spearman_rho"] is None else alpha["spearman_rho"],
                      float("nan") if alpha["spearman_p"] is None else alpha["spearman_p"],
                      ylabel=f"benchmark accuracy (%), {summary['ground_truth']['column']}")
