"""Result files of a cell-level search: genotype JSON, cell drawings, alpha history, DARTS-PD trade-off.

Drawings use matplotlib's object API (no pyplot state, safe in Ray workers) with a fixed layered layout
(cell inputs left, intermediate nodes in order, the concatenation right); all files are written
atomically through ``hiernas.results``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from hiernas.results import save_figure, write_csv, write_json
from spaces.darts import CELL_TYPES, PRIMITIVES, Genotype, genotype_from_json, genotype_to_graph

PathLike = str | os.PathLike[str]


def draw_genotype(genotype: Genotype, path: PathLike, title: str = "") -> None:
    """The normal and the reduction cell side by side, each edge labelled with its operation."""
    graph = genotype_to_graph(genotype)
    fig = Figure(figsize=(12, 4.2))
    for column, cell in enumerate(CELL_TYPES):
        ax = fig.add_subplot(1, 2, column + 1)
        nodes = [n for n, data in graph.nodes(data=True) if data["cell"] == cell]
        positions: dict[str, tuple[float, float]] = {}
        for name in nodes:
            index = graph.nodes[name]["index"]
            if index < 2:
                positions[name] = (0.0, 0.5 - 1.0 * index)  # c_{k-2} above, c_{k-1} below
            elif name.endswith("/out"):
                positions[name] = (genotype.steps + 1.0, 0.0)
            else:
                positions[name] = (index - 0.5, 1.1 * (-1) ** index)
        for u, v, data in graph.edges(data=True):
            if graph.nodes[u]["cell"] != cell:
                continue
            (x0, y0), (x1, y1) = positions[u], positions[v]
            concat = data["op"] == "concat"
            ax.annotate(
                "",
                xy=(x1, y1),
                xytext=(x0, y0),
                arrowprops={
                    "arrowstyle": "->",
                    "color": "0.6" if concat else "tab:blue",
                    "lw": 1.2,
                    "shrinkA": 12,
                    "shrinkB": 12,
                    "connectionstyle": "arc3,rad=0.08",
                },
            )
            if not concat:  # label near the target, where the edges into a node fan apart
                lx, ly = x0 + 0.68 * (x1 - x0), y0 + 0.68 * (y1 - y0)
                ax.text(
                    lx,
                    ly,
                    data["op"],
                    fontsize=7,
                    ha="center",
                    va="center",
                    color="tab:blue",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
                )
        for name, (x, y) in positions.items():
            index = graph.nodes[name]["index"]
            label = {0: "c_{k-2}", 1: "c_{k-1}"}.get(
                index, "c_{k}" if name.endswith("/out") else str(index - 2)
            )
            ax.text(
                x,
                y,
                f"${label}$" if "_" in label else label,
                ha="center",
                va="center",
                fontsize=9,
                bbox={"boxstyle": "round", "fc": "lightyellow" if index >= 2 else "lightgreen"},
            )
        ax.set_xlim(-0.6, genotype.steps + 1.6)
        ax.set_ylim(-1.6, 1.6)
        ax.set_title(f"{cell} cell")
        ax.axis("off")
    if title:
        fig.suptitle(title)
    save_figure(fig, path)


def plot_alpha_history(
    history: Sequence[Mapping[str, Any]],
    path: PathLike,
    warmup_epochs: int = 0,
    cells: Sequence[str] = CELL_TYPES,
    primitives: Sequence[str] = PRIMITIVES,
) -> None:
    """Per epoch, the mean mixing weight of each primitive over the edges of each cell type.

    ``history[epoch]["alpha_<cell>"]`` is (E, n_ops) for each of ``cells`` (NAS-Bench-201: ``("cell",)``
    with its five operations). Flat lines during the warm-up show alpha frozen (PC-DARTS); a shaded band
    marks those epochs.
    """
    fig = Figure(figsize=(5.5 * len(cells), 3.8))
    epochs = np.arange(1, len(history) + 1)
    ax = None
    for column, cell in enumerate(cells):
        ax = fig.add_subplot(1, len(cells), column + 1)
        alpha = np.asarray([h[f"alpha_{cell}"] for h in history], dtype=float)  # (epochs, E, n_ops)
        for i, name in enumerate(primitives[: alpha.shape[-1]]):
            ax.plot(epochs, alpha[:, :, i].mean(axis=1), label=name, marker="." if len(epochs) < 30 else None)
        if warmup_epochs:
            ax.axvspan(
                0.5, min(warmup_epochs, len(epochs)) + 0.5, color="0.9", label="warm-up (alpha frozen)"
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("mean softmax(alpha) over edges")
        ax.set_title(f"{cell} cell" if cell in CELL_TYPES else cell)
        ax.grid(alpha=0.3)
    if ax is not None:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    save_figure(fig, path)


def plot_tradeoff(
    architectures: Sequence[Mapping[str, Any]], evaluated: Sequence[Mapping[str, Any]], path: PathLike
) -> None:
    """DARTS-PD: validation accuracy (shared weights) against evaluation-network size; selected marked."""
    fig = Figure(figsize=(5.5, 4))
    ax = fig.add_subplot()
    ax.scatter(
        [e["params"] / 1e6 for e in evaluated],
        [e["val_acc"] for e in evaluated],
        s=12,
        c="0.6",
        label="evaluated paths",
    )
    chosen = sorted(architectures, key=lambda a: a["params"])
    ax.plot(
        [a["params"] / 1e6 for a in chosen],
        [a["val_acc"] for a in chosen],
        "o-",
        color="tab:red",
        label="selected (Pareto front)",
    )
    ax.set_xlabel("parameters of the evaluation network (M)")
    ax.set_ylabel("validation accuracy (shared weights)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def _json_list(value: Any) -> list[Any]:
    """Trials report nested lists as JSON strings; accept both forms."""
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else list(value)


def write_search_outputs(
    results_dir: PathLike, metrics: Mapping[str, Any], warmup_epochs: int = 0, prefix: str = ""
) -> dict[str, Path]:
    """Write a finished search's files from its final metrics; returns the written paths by kind.

    ``genotype.json`` and ``cells.png`` always; ``alpha_history.json/.png`` when the history is present;
    ``tradeoff.csv/.png`` for DARTS-PD.
    """
    out = Path(results_dir)
    genotype = genotype_from_json(metrics["genotype"])
    paths = {"genotype": out / f"{prefix}genotype.json", "cells": out / f"{prefix}cells.png"}
    write_json(paths["genotype"], genotype.to_json())
    title = f"{prefix.rstrip('_')} val_acc={float(metrics.get('val_acc', 0.0)):.3f}".strip()
    draw_genotype(genotype, paths["cells"], title=title)
    history = _json_list(metrics.get("alpha_history"))
    if history:
        paths["alpha_json"] = out / f"{prefix}alpha_history.json"
        paths["alpha_png"] = out / f"{prefix}alpha_history.png"
        write_json(paths["alpha_json"], history)
        plot_alpha_history(history, paths["alpha_png"], warmup_epochs)
    architectures = _json_list(metrics.get("pd_architectures"))
    if architectures:
        paths["tradeoff_csv"] = out / f"{prefix}tradeoff.csv"
        paths["tradeoff_png"] = out / f"{prefix}tradeoff.png"
        rows = [
            {
                "rank": i + 1,
                "val_acc": a["val_acc"],
                "params": a["params"],
                "genotype": genotype_from_json(a["genotype"]).dumps(),
            }
            for i, a in enumerate(architectures)
        ]
        write_csv(paths["tradeoff_csv"], rows, ["rank", "val_acc", "params", "genotype"])
        plot_tradeoff(
            architectures, _json_list(metrics.get("pd_evaluated")) or architectures, paths["tradeoff_png"]
        )
    return paths
