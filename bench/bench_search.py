#!/usr/bin/env python
"""Costs of the outer search on Ray Tune, measured side by side in one run (one local Ray, 2 CPUs).

    python bench/bench_search.py                      # about 4 minutes on 2 cores
    python bench/bench_search.py --epochs 1 --iterations 1   # a quick look
    python bench/bench_search.py --skip-extras               # overhead and whole-search speed-up only

Every number comes from real FaDE searches through ``hiernas.tune.search.run_search`` (digits, softmax
mixing, no final training), each in a fresh temporary results directory:

1. Ray Tune overhead: the search's wall time (``Tuner.fit``) over the sum of its trials' own time, run
   one trial at a time. A trial's own time is Tune's ``time_total_s`` (the trainable from start to its
   last report, its data and model set-up included); the ratio over the pure training and validation time
   (sum of the reported ``epoch_time``) is printed too. Target: <= 1.10.
2. Parallel speed-up of 2 concurrent trials (1 CPU each) over 1 at a time, same seed so the same trials:
   (a) the search above, batches of ``--repeats`` trials, one batch per iteration; (b) one batch of
   ``2 * --repeats`` trials, so no iteration boundary. The searcher takes a trial's final result at once
   and hands out the next batch while the finished trials' actors are alive, so Tune re-uses them: no
   trial of a new batch waits for a fresh actor (the boundary delays are printed). Target: >= 1.8.
3. Cost in depth: the wall time of one iteration at depth 8 over depth 4 (``--window`` cells per row,
   median of ``--depth-repeats`` alternating runs). FaDE trains one hyper-architecture of depth x window
   cells per iteration, so the cost should grow linearly in depth. Target: <= 2.2.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ray import tune

from hiernas.config import DataConfig
from hiernas.fade.config import ModelConfig, TrainConfig, TrialConfig
from hiernas.results import read_json
from hiernas.tune.runtime import init_ray
from hiernas.tune.search import SearchSettings, run_search


@dataclass(frozen=True)
class SearchTiming:
    """Wall time of one search and the time its trials report for themselves."""

    wall_s: float  # Tuner.fit
    trial_s: float  # sum of the trials' time_total_s
    epoch_s: float  # sum of the trials' epoch_time (training + validation only)
    trials: int
    boundary_s: list[tuple[float, float]]  # per later iteration: (first, last) trial start - previous batch end


class TrialClock(tune.Callback):
    """Driver-side start and end times (monotonic seconds) of every trial, by trial id."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.ended: dict[str, float] = {}

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.started.setdefault(trial.trial_id, time.monotonic())

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.ended[trial.trial_id] = time.monotonic()


def boundary_delays(clock: TrialClock, history: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """For each iteration after the first: how long after the previous batch ended its trials started.

    A batch-synchronous searcher proposes a batch only when the previous one is complete; it does so at
    the last trial's final result, before Tune completes that trial, so both new trials start in the
    actors of the finished ones (a fresh actor, process and imports, would take 4-6 s).
    """
    delays = []
    for before, after in zip(history, history[1:], strict=False):
        end = max(clock.ended[t] for ids in before["trial_ids"] for t in ids)
        starts = [clock.started[ids[0]] - end for ids in after["trial_ids"]]
        delays.append((min(starts), max(starts)))
    return delays


@contextmanager
def scratch_dir() -> Iterator[str]:
    """A temporary results directory, removed afterwards."""
    path = tempfile.mkdtemp(prefix="hiernas-bench-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def trial_times(experiment_dir: str) -> tuple[float, float, int]:
    """Sum over the experiment's trials of their last ``time_total_s`` and of their ``epoch_time``."""
    total, epochs, count = 0.0, 0.0, 0
    for path in glob.glob(os.path.join(experiment_dir, "*", "result.json")):
        with open(path) as stream:
            rows = [json.loads(line) for line in stream if line.strip()]
        if rows:
            total += float(rows[-1]["time_total_s"])
            epochs += sum(float(row["epoch_time"]) for row in rows)
            count += 1
    return total, epochs, count


def timed_search(args: argparse.Namespace, depth: int, iterations: int, repeats: int, concurrent: int) -> SearchTiming:
    """Run one FaDE search in a scratch directory and time it."""
    base = TrialConfig(
        seed=args.seed,
        data=DataConfig(dataset="digits", batch_size=64),
        model=ModelConfig(depth=depth, window=args.window, choice_mode="softmax"),
        train=TrainConfig(epochs=args.epochs),
    )
    settings = SearchSettings(
        searcher="fade", iterations=iterations, repeats=repeats, final_epochs=0, race_paths=0, cpus_per_trial=1,
        max_concurrent=concurrent,
    )
    clock = TrialClock()
    with scratch_dir() as results:
        out = run_search(settings, base, results, callbacks=[clock])
        trial_s, epoch_s, count = trial_times(out["experiment_dir"])
        history = read_json(os.path.join(results, "search.json"))["iterations"]
    return SearchTiming(out["search_time_s"], trial_s, epoch_s, count, boundary_delays(clock, history))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2, help="iterations of the overhead/speed-up search")
    parser.add_argument("--repeats", type=int, default=2, help="trials per iteration (the concurrent ones)")
    parser.add_argument("--epochs", type=int, default=2, help="hyper-architecture epochs per trial")
    parser.add_argument("--window", type=int, default=6)
    parser.add_argument("--depth-repeats", type=int, default=2, help="runs per depth for the depth ratio")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-extras", action="store_true",
                        help="measure only 1 and 2 (overhead, whole-search speed-up): about a third of the time")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    init_ray(num_cpus=2, dashboard=False)
    print(f"FaDE on digits, window {args.window}, {args.epochs} epochs per trial, softmax mixing, 2 CPUs", flush=True)

    sequential = timed_search(args, 4, args.iterations, args.repeats, concurrent=1)
    parallel = timed_search(args, 4, args.iterations, args.repeats, concurrent=2)
    print(f"\n1. Ray Tune overhead ({sequential.trials} trials of depth 4, one at a time)")
    print(f"   search wall {sequential.wall_s:6.1f} s, trials' own time {sequential.trial_s:6.1f} s "
          f"(epochs alone {sequential.epoch_s:6.1f} s)")
    print(f"   ratio wall / trial time {sequential.wall_s / sequential.trial_s:5.3f}  (target <= 1.10); "
          f"wall / epoch time {sequential.wall_s / sequential.epoch_s:5.3f}")
    print(f"\n2. Parallel speed-up ({parallel.trials} trials, {args.repeats} per iteration)")
    print(f"   1 at a time {sequential.wall_s:6.1f} s, 2 concurrent {parallel.wall_s:6.1f} s: "
          f"speed-up {sequential.wall_s / parallel.wall_s:5.2f}  (target >= 1.8)")
    if parallel.boundary_s:
        delays = "; ".join(f"{first:.1f} and {last:.1f} s" for first, last in parallel.boundary_s)
        print(f"   2 concurrent: a new batch's trials started {delays} after the previous batch ended "
              "(re-used actors: well under a fresh actor's 4-6 s)")

    if args.skip_extras:
        return
    one_batch = [timed_search(args, 4, 1, 2 * args.repeats, concurrent=c) for c in (1, 2)]
    print(f"   one batch of {one_batch[0].trials} trials: 1 at a time {one_batch[0].wall_s:6.1f} s, 2 concurrent "
          f"{one_batch[1].wall_s:6.1f} s: speed-up {one_batch[0].wall_s / one_batch[1].wall_s:5.2f}")

    walls: dict[int, list[float]] = {4: [], 8: []}
    for _ in range(args.depth_repeats):
        for depth in (4, 8):
            walls[depth].append(timed_search(args, depth, 1, 1, concurrent=1).wall_s)
    four, eight = statistics.median(walls[4]), statistics.median(walls[8])
    print(f"\n3. One iteration (1 trial) at depth 8 over depth 4, median of {args.depth_repeats} runs each")
    print(f"   depth 4 {four:6.1f} s, depth 8 {eight:6.1f} s: ratio {eight / four:5.2f}  (target <= 2.2)")


if __name__ == "__main__":
    main()
