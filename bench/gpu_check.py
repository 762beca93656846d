"""GPU readiness check without Ray: a hyper-architecture and a DARTS search network train a few bilevel
steps on the CPU and on the GPU, in float32 and in mixed precision; prints step times, peak memory and
the speed-up over the CPU. Run from the source tree with the installed torch (``bench/gpu_check.sh``).

Prints one line and exits 0 where no GPU is present.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import torch

from hiernas.bilevel import Architect, BilevelSettings, SearchModel
from hiernas.darts.search_network import SearchNetwork
from hiernas.device import Precision, peak_memory_mb
from hiernas.fade.config import ModelConfig
from hiernas.fade.hypernet import HyperNet, MaxNormRegulariser
from spaces.dag_cell import DagCell

CELL = DagCell(4, ((0, 1), (0, 2), (1, 3), (2, 3)))  # the diamond: five 5x5 convolutions


def hyper(device: torch.device) -> SearchModel:
    cfg = ModelConfig(depth=4, window=6, choice_mode="gumbel_hard", final_channels=32)
    return HyperNet([[CELL] * 6] * 4, cfg, 3, 10, 32, MaxNormRegulariser()).to(device)


def darts(device: torch.device) -> SearchModel:
    return SearchNetwork(3, 10, channels=16, layers=8, steps=4).to(device)


def step_time(build: Callable[[torch.device], SearchModel], device: torch.device, amp: str, steps: int,
              batch: int) -> tuple[float, float]:
    """Median seconds of a bilevel step (arch + weight) and the peak memory in MiB, after 3 warm-up steps."""
    torch.manual_seed(0)
    model = build(device)
    precision = Precision(amp, device)
    architect = Architect(model, torch.optim.SGD(model.weight_parameters(), 0.01, momentum=0.9),
                          torch.optim.Adam(model.arch_parameters(), 3e-4), BilevelSettings(), precision)
    x, y = torch.randn(batch, 3, 32, 32, device=device), torch.randint(0, 10, (batch,), device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for i in range(steps + 3):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        architect.arch_step((x, y), (x, y), i, steps + 3)
        architect.weight_step((x, y))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= 3:
            times.append(time.perf_counter() - start)
    return statistics.median(times), peak_memory_mb(device)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per case")
    parser.add_argument("--batch-size", type=int, default=64, help="images per batch (32x32x3)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device visible; nothing to check")
        return 0
    gpu = torch.device("cuda")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(gpu)}, batch {args.batch_size}, 32x32x3")
    for name, build in (("hyper-architecture d4 w6 hard Gumbel", hyper), ("DARTS search network C16 8 cells", darts)):
        cpu_time, cpu_mem = step_time(build, torch.device("cpu"), "off", max(2, args.steps // 5), args.batch_size)
        print(f"{name}: cpu {cpu_time * 1e3:8.1f} ms/step, peak RSS {cpu_mem:7.0f} MiB")
        for amp in ("off", "bf16", "fp16"):
            gpu_time, gpu_mem = step_time(build, gpu, amp, args.steps, args.batch_size)
            print(f"  gpu amp={amp:4s} {gpu_time * 1e3:8.1f} ms/step, peak {gpu_mem:7.0f} MiB, "
                  f"speed-up over cpu {cpu_time / gpu_time:6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
