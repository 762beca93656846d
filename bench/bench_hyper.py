#!/usr/bin/env python
"""Time of a whole bilevel training step (architecture step + weight step) of a HyperNet with window 6
over window 1, for hard Gumbel (score-function and straight-through architecture gradients) and softmax.

In hard-Gumbel mode only sampled cells run: the weight step trains one path, the score-function
architecture step runs ``arch_samples`` (2) sampled paths forward without gradients, so a step should cost
about one path whatever the window (target ratio <= 1.5). The straight-through step (the paper's form,
whose alpha gradient is dead outside the last row) is shown beside it; in softmax mode every candidate
runs (expected ratio about 6).

    python bench/bench_hyper.py [--steps 20] [--batch-size 64] [--image-size 32]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from hiernas.bilevel import Architect, BilevelSettings
from hiernas.fade.config import ModelConfig
from hiernas.fade.hypernet import HyperNet, MaxNormRegulariser
from spaces.dag import DagCell

# one cell repeated in every slot, so windows 1 and 6 differ only in the number of candidates
CELL = DagCell(4, ((0, 1), (0, 2), (1, 3), (2, 3)))


def step_times(mode: str, gradient: str, window: int, steps: int, batch: int, size: int) -> list[float]:
    """Wall time of ``steps`` bilevel steps (alpha step + weight step) after 3 warm-up steps."""
    torch.manual_seed(0)
    cfg = ModelConfig(depth=4, window=window, choice_mode=mode, arch_gradient=gradient)
    net = HyperNet([[CELL] * window] * 4, cfg, 3, 10, size, MaxNormRegulariser())
    architect = Architect(
        net, torch.optim.Adam(net.weight_parameters(), 1e-3), torch.optim.Adam(net.arch_parameters(), 3e-2),
        BilevelSettings(grad_clip_value=10.0),
    )
    x, y = torch.randn(batch, 3, size, size), torch.randint(0, 10, (batch,))
    times = []
    for i in range(steps + 3):
        start = time.perf_counter()
        architect.arch_step((x, y), (x, y), i, steps + 3)
        architect.weight_step((x, y))
        if i >= 3:
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=32)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, depth 4, batch {args.batch_size}, "
          f"{args.image_size}x{args.image_size}x3, median of {args.steps} steps")
    cases = (
        ("gumbel_hard", "reinforce", "target <= 1.5"),
        ("gumbel_hard", "straight_through", "paper's form, alpha gradient dead but for the last row"),
        ("softmax", "reinforce", "expected about 6"),
    )
    for mode, gradient, target in cases:
        one = statistics.median(step_times(mode, gradient, 1, args.steps, args.batch_size, args.image_size))
        six = statistics.median(step_times(mode, gradient, 6, args.steps, args.batch_size, args.image_size))
        label = f"{mode}/{gradient}" if mode == "gumbel_hard" else mode
        print(f"{label:29s} window 1: {one * 1e3:7.1f} ms  window 6: {six * 1e3:7.1f} ms  "
              f"ratio {six / one:5.2f}  ({target})")


if __name__ == "__main__":
    main()
