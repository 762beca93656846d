#!/usr/bin/env python
"""DARTS-family costs on the CPU, measured side by side in one run.

    OMP_NUM_THREADS=1 python bench/bench_darts.py                 # about a minute on one core
    python bench/bench_darts.py --size 32 --batch 16 --channels 16 --layers 8   # the CIFAR search network

1. Memory of one search step, PC-DARTS (K = 4, with edge normalisation) over DARTS, same batch and input.
   Measured as the bytes of the distinct tensor storages autograd saves for the backward pass of the
   training loss (``torch.autograd.graph.saved_tensors_hooks``): these activations are what a search
   step holds at its peak besides the weights, and they are what partial channels shrink. The weights,
   their gradients and the SGD momentum (3 x parameters) are reported too, and the ratio with them.
   Target: activation ratio <= 0.4.
2. Time of one search step (architecture step + weight step, ``hiernas.bilevel.Architect``), second
   order over first order on the DARTS network; steps alternate between the two so that load from
   other processes hits both alike; the median of ``--repeats`` steps after one warm-up step each.
   Target: <= 3.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from hiernas.bilevel import Architect, BilevelSettings
from hiernas.darts.search_network import SearchNetwork
from hiernas.memory_probe import saved_peak_bytes


def saved_activation_bytes(model: SearchNetwork, x: torch.Tensor, y: torch.Tensor) -> int:
    """Bytes of the distinct storages saved for backward while computing the training loss."""
    return saved_peak_bytes(lambda: F.cross_entropy(model(x), y), model.parameters())


def state_bytes(model: SearchNetwork) -> int:
    """Weights + gradients + SGD momentum of the network weights."""
    return 3 * sum(p.numel() * p.element_size() for p in model.weight_parameters())


def step_timer(
    order: int, args: argparse.Namespace, batches: list[tuple[torch.Tensor, torch.Tensor]]
) -> Callable[[], float]:
    torch.manual_seed(0)
    model = SearchNetwork(args.in_channels, 10, args.channels, args.layers, args.steps)
    weight_opt = torch.optim.SGD(model.weight_parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    arch_opt = torch.optim.Adam(model.arch_parameters(), lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    architect = Architect(
        model,
        weight_opt,
        arch_opt,
        BilevelSettings(order=order, unroll_weight_decay=3e-4, grad_clip_norm=5.0),
    )

    def step() -> float:
        started = time.perf_counter()
        architect.arch_step(batches[0], batches[1])
        architect.weight_step(batches[0])
        return time.perf_counter() - started

    return step


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=16, help="input height and width")
    p.add_argument("--in-channels", type=int, default=3)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--channels", type=int, default=16, help="initial channels C")
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--time-channels", type=int, default=8, help="C of the timed network (smaller: faster)")
    p.add_argument("--time-layers", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    gen = torch.Generator().manual_seed(0)
    shape = (args.batch, args.in_channels, args.size, args.size)
    batches = [
        (torch.randn(shape, generator=gen), torch.randint(0, 10, (args.batch,), generator=gen))
        for _ in range(2)
    ]

    print(
        f"memory: search network C={args.channels}, {args.layers} cells, {args.steps} nodes; "
        f"batch {args.batch} of {args.in_channels}x{args.size}x{args.size}"
    )
    results = {}
    pc_darts: dict[str, Any] = {"channel_fraction": 4, "edge_norm": True}
    variants: list[tuple[str, dict[str, Any]]] = [("DARTS", {}), ("PC-DARTS K=4", pc_darts)]
    for name, kwargs in variants:
        torch.manual_seed(0)
        model = SearchNetwork(args.in_channels, 10, args.channels, args.layers, args.steps, **kwargs)
        activations = saved_activation_bytes(model, *batches[0])
        results[name] = (activations, state_bytes(model))
        print(
            f"  {name:13s} saved activations {activations / 2**20:8.1f} MiB, "
            f"weights+grads+momentum {results[name][1] / 2**20:6.1f} MiB"
        )
    (act_d, st_d), (act_p, st_p) = results["DARTS"], results["PC-DARTS K=4"]
    print(
        f"  PC-DARTS / DARTS: activations {act_p / act_d:.3f} (target <= 0.4), "
        f"with weights/grads/momentum {(act_p + st_p) / (act_d + st_d):.3f}"
    )

    timed = argparse.Namespace(**{**vars(args), "channels": args.time_channels, "layers": args.time_layers})
    print(
        f"time: DARTS network C={timed.channels}, {timed.layers} cells, batch {args.batch}, "
        f"{torch.get_num_threads()} thread(s), median of {args.repeats} steps"
    )
    first, second = step_timer(1, timed, batches), step_timer(2, timed, batches)
    first(), second()  # warm-up
    times: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(args.repeats):
        times[1].append(first())
        times[2].append(second())
    t1, t2 = statistics.median(times[1]), statistics.median(times[2])
    print(f"  first order {t1:.3f} s/step, second order {t2:.3f} s/step: ratio {t2 / t1:.2f} (target <= 3)")


if __name__ == "__main__":
    main()
