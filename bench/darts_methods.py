#!/usr/bin/env python
"""Memory and time of one search step of every cell-level method, measured side by side in one run.

    OMP_NUM_THREADS=1 python bench/darts_methods.py                  # DARTS space, C=16, 8 cells, batch 16, 16x16
    python bench/darts_methods.py --space nb201 --out results/bench_darts_methods
    python bench/darts_methods.py --device cuda                      # CUDA's peak allocated memory instead

Every method of ``hiernas.darts.config.METHODS`` (its ``DartsConfig.for_method`` defaults at the network size
given here) takes search steps on the same batches: an architecture step and a weight step through the
architect ``hiernas.darts.search.make_architect`` gives it (ProxylessNAS' and PARSEC's own steps, DARTS'
first or second order for the others). DARTS-PD's row is its stage 1, the search step of its base method;
P-DARTS has two rows, its first stage's network (5 cells x 8 operations per edge) and its last (17 cells x 3
operations per edge, the 3 strongest of a seeded random alpha on every edge, skip dropout at the stage's rate),
whatever ``--layers`` is (``--pdarts-cells`` changes the two).

Memory on the CPU: the bytes of the distinct tensor storages autograd holds for backward (packed by
``torch.autograd.graph.saved_tensors_hooks``, released when the graph frees them; parameters excluded), at
their peak during the architecture step and during the weight step; the larger of the two is the step's.
These activations are what the methods shrink. The weights, their gradients and the SGD momentum (plus alpha
with its gradient and Adam's two moments) are a separate column. Each column is the mean over ``--memory-steps``
consecutive steps (the sampling methods draw other operations every step).
On CUDA (``--device cuda``): ``torch.cuda.max_memory_allocated`` during each step instead (everything
allocated, weights and optimiser state included), one model on the device at a time, after a warm-up step.

Time: the median of ``--repeats`` steps after ``--warmup`` steps, the methods interleaved round-robin so that
load from other processes hits all alike; ``--time-channels``/``--time-layers`` may shrink the timed network.
Every number is also given as a ratio to first-order DARTS. ``--out DIR`` writes the table as
``darts_methods.json`` and ``darts_methods.csv``.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from hiernas.bilevel import Architect
from hiernas.cli.common import OneLineParser, non_negative_int, positive_int
from hiernas.darts.config import METHODS, SPACES, DartsConfig
from hiernas.darts.skeleton import num_edges
from hiernas.darts.supernets import build_search_network, make_architect
from hiernas.memory_probe import peak_bytes
from hiernas.results import write_csv, write_json
from spaces.darts import PRIMITIVES
from spaces.nb201 import EDGES as NB201_EDGES
from spaces.nb201 import OPS as NB201_OPS

Batch = tuple[torch.Tensor, torch.Tensor]
MIB = 2**20
NUM_CLASSES = 10
DEFAULT_LAYERS = {"darts": 8, "nb201": 5}  # DARTS: cells; NAS-Bench-201: cells per stage
REFERENCE = "darts"
NOTES = {  # what the CPU's measure leaves out for a method
    "darts2": "its architecture step also holds a copy of the weights and two weight-sized gradients (not "
              "activations: counted on CUDA only)",
    "parsec": "its architecture step scores the sampled children without a graph, so it saves nothing for backward "
              "(their passing activations are counted on CUDA only)",
}


@dataclass(frozen=True)
class Row:
    """One row of the table: a method's config and, for P-DARTS' stages, its network."""

    name: str
    method: str
    cfg: DartsConfig
    layers: int | None = None  # None: the config's (DARTS: cells; NAS-Bench-201: cells per stage)
    edge_ops: tuple[tuple[str, ...], ...] | None = None  # None: every operation on every edge
    skip_drop: float = 0.0  # P-DARTS' dropout after skip connections in this stage
    note: str = ""

    def network(self) -> str:
        """Cells and operations per edge, e.g. ``8 cells x 8 ops`` (NAS-Bench-201: ``5/stage x 5 ops``)."""
        nb201 = self.cfg.space == "nb201"
        cells = self.layers or (self.cfg.nb201_cells if nb201 else self.cfg.layers)
        ops = len(self.edge_ops[0]) if self.edge_ops else len(NB201_OPS if nb201 else PRIMITIVES)
        return f"{cells}{'/stage' if nb201 else ' cells'} x {ops} ops"


def strongest_ops(primitives: Sequence[str], edges: int, k: int, seed: int) -> tuple[tuple[str, ...], ...]:
    """Per edge the ``k`` operations with the largest entries of a seeded random alpha (in ``primitives``' order):
    a stand-in for P-DARTS' pruning, which keeps the strongest operations of the previous stage."""
    alpha = torch.randn(edges, len(primitives), generator=torch.Generator().manual_seed(seed))  # (E, n)
    kept = alpha.topk(k, dim=-1).indices.sort(dim=-1).values  # (E, k)
    return tuple(tuple(primitives[int(i)] for i in row) for row in kept)


def make_rows(methods: Sequence[str], space: str, channels: int, layers: int, steps: int,
              pdarts_cells: Sequence[int] | None = None) -> list[Row]:
    """The table's rows for ``methods`` at one network size. P-DARTS' rows keep their first and last stages'
    cells (``pdarts_cells``: other cells for the two)."""
    size: dict[str, Any] = {"space": space, "channels": channels, "steps": steps}
    size.update({"nb201_cells": layers} if space == "nb201" else {"layers": layers})
    primitives = NB201_OPS if space == "nb201" else PRIMITIVES
    edges = len(NB201_EDGES) if space == "nb201" else num_edges(steps)
    rows = []
    for method in methods:
        cfg = DartsConfig.for_method(method, **size)
        if method == "darts-pd":
            rows.append(Row(f"darts-pd (stage 1 = {cfg.base_method})", method, cfg,
                            note=f"stage 1 is {cfg.base_method}'s search step; stages 2-3 train single paths"))
        elif method == "pdarts":
            for stage, label in ((0, "first"), (len(cfg.stage_cells) - 1, "last")):
                k = cfg.stage_ops[stage]
                ops = None if k == len(primitives) else strongest_ops(primitives, edges, k, cfg.seed)
                note = f"stage {stage + 1} of {len(cfg.stage_cells)}"
                if ops is not None:
                    note += f", the {k} strongest ops of a random alpha per edge"
                cells = cfg.stage_cells[stage] if pdarts_cells is None else pdarts_cells[min(stage, 1)]
                rows.append(Row(f"pdarts ({label} stage)", method, cfg, cells, ops,
                                cfg.pdarts_skip_drop[stage], note))
        else:
            rows.append(Row(method, method, cfg, note=NOTES.get(method, "")))
    return rows


def build(row: Row, in_channels: int, device: torch.device) -> Architect:
    """``row``'s supernet with the optimisers of ``hiernas.darts.search`` and its method's architect."""
    torch.manual_seed(row.cfg.seed)
    cfg = row.cfg
    model = build_search_network(cfg, in_channels, NUM_CLASSES, row.layers, row.edge_ops).to(device)
    model.set_skip_dropout(row.skip_drop)
    model.train()
    weight_opt = torch.optim.SGD(model.weight_parameters(), lr=cfg.weight_lr, momentum=cfg.momentum,
                                 weight_decay=cfg.weight_decay)
    arch_opt = torch.optim.Adam(model.arch_parameters(), lr=cfg.arch_lr, betas=(cfg.arch_betas[0], cfg.arch_betas[1]),
                                weight_decay=cfg.arch_weight_decay)
    return make_architect(cfg, model, weight_opt, arch_opt, device)


def state_bytes(architect: Architect) -> int:
    """Weights + gradients + SGD momentum, and alpha + gradient + Adam's two moments."""
    model = architect.model
    weights = sum(p.numel() * p.element_size() for p in model.weight_parameters())
    alphas = sum(p.numel() * p.element_size() for p in model.arch_parameters())
    return 3 * weights + 4 * alphas


def search_step(architect: Architect, batches: Sequence[Batch]) -> None:
    architect.arch_step(batches[0], batches[1])
    architect.weight_step(batches[0])


def measure_memory(row: Row, batches: Sequence[Batch], device: torch.device, steps: int,
                   keep: bool) -> tuple[dict[str, float], Architect | None]:
    """Mean over ``steps`` consecutive steps of the architecture step's and the weight step's peak (MiB), and
    with ``keep`` the network (its steps so far warm it up for timing)."""
    if device.type == "cuda":
        gc.collect()  # the previous row's network is off the device before this one's peak is taken
    architect = build(row, batches[0][0].shape[1], device)
    if device.type == "cuda":
        search_step(architect, batches)  # the optimisers' state exists from the first step on
    arch, weight = [], []
    params = [*architect.model.weight_parameters(), *architect.model.arch_parameters()]  # not counted as saved
    for _ in range(steps):
        arch.append(peak_bytes(lambda: architect.arch_step(batches[0], batches[1]), params, device))
        weight.append(peak_bytes(lambda: architect.weight_step(batches[0]), params, device))
    out = {
        "arch_mib": statistics.fmean(arch) / MIB,
        "weight_mib": statistics.fmean(weight) / MIB,
        "peak_mib": statistics.fmean(max(a, w) for a, w in zip(arch, weight, strict=True)) / MIB,
        "state_mib": state_bytes(architect) / MIB,
    }
    return out, architect if keep else None


def measure_time(architects: Sequence[Architect], batches: Sequence[Batch], device: torch.device, warmup: int,
                 repeats: int) -> list[float]:
    """Median seconds per search step of every network, the networks' steps interleaved round-robin."""

    def timed(architect: Architect) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        search_step(architect, batches)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - started

    for _ in range(warmup):
        for architect in architects:
            timed(architect)
    times: list[list[float]] = [[] for _ in architects]
    for _ in range(repeats):
        for k, architect in enumerate(architects):
            times[k].append(timed(architect))
    return [statistics.median(t) for t in times]


def make_batches(batch: int, in_channels: int, size: int, device: torch.device) -> list[Batch]:
    """A training and a validation batch, the same for every method."""
    gen = torch.Generator().manual_seed(0)
    shape = (batch, in_channels, size, size)
    return [(torch.randn(shape, generator=gen).to(device),
             torch.randint(0, NUM_CLASSES, (batch,), generator=gen).to(device)) for _ in range(2)]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """The whole table: rows (memory, state, time and their ratios to first-order DARTS) and its settings."""
    device = torch.device(args.device)
    methods = [REFERENCE, *(m for m in args.methods if m != REFERENCE)]
    memory_rows = make_rows(methods, args.space, args.channels, args.layers, args.steps, args.pdarts_cells)
    time_rows = make_rows(methods, args.space, args.time_channels, args.time_layers, args.steps, args.pdarts_cells)
    batches = make_batches(args.batch, args.in_channels, args.size, device)
    # on the CPU the measured networks are timed when the sizes agree (building them is slow in a small test);
    # on CUDA every row's peak is taken with only its network on the device
    same = device.type == "cpu" and (args.time_channels, args.time_layers) == (args.channels, args.layers)
    measured = [measure_memory(row, batches, device, args.memory_steps, same) for row in memory_rows]
    memory = [mem for mem, _ in measured]
    kept = [architect for _, architect in measured if architect is not None]
    del measured
    architects = kept if same else [build(row, args.in_channels, device) for row in time_rows]
    seconds = measure_time(architects, batches, device, args.warmup, args.repeats)
    ref_mem, ref_time = memory[0], seconds[0]
    cpu = device.type == "cpu"
    rows = []
    for row, time_row, mem, step_s in zip(memory_rows, time_rows, memory, seconds, strict=True):
        rows.append({
            "name": row.name,
            "method": row.method,
            "network": row.network(),
            "time_network": time_row.network(),
            **mem,
            "memory_ratio": mem["peak_mib"] / ref_mem["peak_mib"],
            "with_state_ratio": ((mem["peak_mib"] + mem["state_mib"]) / (ref_mem["peak_mib"] + ref_mem["state_mib"])
                                 if cpu else None),
            "step_s": step_s,
            "time_ratio": step_s / ref_time,
            "note": row.note,
        })
    nb201 = args.space == "nb201"
    cells = "cells per stage" if nb201 else "cells"
    nodes = "" if nb201 else f", {args.steps} nodes"
    return {
        "space": args.space,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "memory": ("saved activations (bytes of distinct storages held for backward), CPU" if cpu
                   else "torch.cuda.max_memory_allocated during the step (everything allocated)"),
        "memory_network": f"C={args.channels}, {args.layers} {cells}{nodes}",
        "time_network": f"C={args.time_channels}, {args.time_layers} {cells}{nodes}",
        "input": f"batch {args.batch} of {args.in_channels}x{args.size}x{args.size}",
        "memory_steps": args.memory_steps,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "rows": rows,
    }


def format_table(result: dict[str, Any]) -> str:
    """The table as aligned text, with the settings above it and one verdict per method under it."""
    cpu = result["device"] == "cpu"
    kind = "act" if cpu else "peak"
    header = ["method", "network", f"arch {kind} MiB", f"weight {kind} MiB", f"step {kind} MiB", "mem x DARTS",
              "state MiB", "+state x DARTS", "step s", "time x DARTS"]
    body = [[r["name"], r["network"], f"{r['arch_mib']:.1f}", f"{r['weight_mib']:.1f}", f"{r['peak_mib']:.1f}",
             f"{r['memory_ratio']:.2f}", f"{r['state_mib']:.1f}",
             "-" if r["with_state_ratio"] is None else f"{r['with_state_ratio']:.2f}",
             f"{r['step_s']:.3f}", f"{r['time_ratio']:.2f}"] for r in result["rows"]]
    widths = [max(len(line[k]) for line in [header, *body]) for k in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = (c.ljust(w) if k < 2 else c.rjust(w) for k, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(padded).rstrip()

    lines = [
        f"space {result['space']}, device {result['device']}, {result['threads']} thread(s); input {result['input']}",
        f"memory: network {result['memory_network']}; {result['memory']}; max of the arch and weight step, "
        f"mean over {result['memory_steps']} step(s)",
        f"time: network {result['time_network']}; median of {result['repeats']} steps after {result['warmup']} "
        "warm-up, methods interleaved",
        "P-DARTS rows keep their stages' cells at the given channels; state: weights+grads+momentum, alpha+Adam",
        "",
        line(header),
        line(["-" * w for w in widths]),
        *(line(cells) for cells in body),
        "",
        *verdicts(result),
    ]
    notes = [f"  {r['name']}: {r['note']}" for r in result["rows"] if r["note"]]
    return "\n".join(lines + (["notes:", *notes] if notes else []))


def verdicts(result: dict[str, Any]) -> list[str]:
    """Per row (DARTS excepted), whether it saves memory against first-order DARTS and by how much."""
    what = "activations" if result["device"] == "cpu" else "peak memory"
    out = []
    for r in result["rows"][1:]:
        ratio = r["memory_ratio"]
        if ratio < 0.98:
            verdict = f"saves {1 - ratio:.0%}"
        elif ratio > 1.02:
            verdict = f"does not save memory: {ratio - 1:.0%} more"
        else:
            verdict = "does not save memory: about the same"
        extra = "" if r["with_state_ratio"] is None else f"; with the state {r['with_state_ratio']:.2f}x"
        out.append(f"{r['name']}: {ratio:.2f}x of DARTS' {what} ({verdict}){extra}; "
                   f"step time {r['time_ratio']:.2f}x")
    return out


def cell_pair(text: str) -> tuple[int, int]:
    """argparse type: ``FIRST,LAST``, two integers >= 1."""
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected FIRST,LAST (two integers >= 1), got {text}")
    first, last = (positive_int(part) for part in parts)
    return first, last


def build_parser() -> OneLineParser:
    p = OneLineParser(description="Memory and time of one search step of every cell-level method, vs DARTS")
    p.add_argument("--space", choices=SPACES, default="darts", help="DARTS cells or NAS-Bench-201 cells")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods (darts is always included)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--size", type=positive_int, default=16, help="input height and width")
    p.add_argument("--in-channels", type=positive_int, default=3)
    p.add_argument("--batch", type=positive_int, default=16)
    p.add_argument("--channels", type=positive_int, default=16, help="initial channels C")
    p.add_argument("--layers", type=positive_int, default=None,
                   help="cells (DARTS; default 8) or cells per stage (NAS-Bench-201; default 5)")
    p.add_argument("--steps", type=positive_int, default=4, help="nodes per DARTS cell")
    p.add_argument("--time-channels", type=positive_int, default=None,
                   help="C of the timed network (default: --channels)")
    p.add_argument("--time-layers", type=positive_int, default=None,
                   help="cells of the timed network (default: --layers)")
    p.add_argument("--pdarts-cells", type=cell_pair, default=None,
                   help="FIRST,LAST: P-DARTS' cells in its first and last stage (default: its own, DARTS 5,17; "
                   "NAS-Bench-201 1,5 per stage)")
    p.add_argument("--memory-steps", type=positive_int, default=3,
                   help="consecutive steps whose memory is averaged (the sampling methods vary)")
    p.add_argument("--warmup", type=non_negative_int, default=1, help="untimed steps per method")
    p.add_argument("--repeats", type=positive_int, default=5, help="timed steps per method")
    p.add_argument("--out", default=None, help="directory for darts_methods.json and .csv")
    return p


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = build_parser()
    args = p.parse_args(argv)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown or not args.methods:
        p.error(f"--methods: unknown {unknown}; expected some of {list(METHODS)}")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: CUDA is not available")
    args.layers = args.layers or DEFAULT_LAYERS[args.space]
    args.time_channels = args.time_channels or args.channels
    args.time_layers = args.time_layers or args.layers
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:  # bad sizes (e.g. channels PC-DARTS cannot split) fail before anything is measured
        for channels, layers in ((args.channels, args.layers), (args.time_channels, args.time_layers)):
            make_rows(args.methods, args.space, channels, layers, args.steps, args.pdarts_cells)
    except ValueError as error:
        print(f"error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    result = measure(args)
    print(format_table(result), flush=True)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        write_json(os.path.join(args.out, "darts_methods.json"), result)
        write_csv(os.path.join(args.out, "darts_methods.csv"), result["rows"])
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
