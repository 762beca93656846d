"""``hiernas search`` / ``scripts/fade_search.py``: FaDE (default), DARTS-PD evolution or random search
over DAG, NAS-Bench-201 or DARTS cells on Ray Tune, then the best path trained from scratch."""

from __future__ import annotations

import argparse

from hiernas.cli import common as cli
from hiernas.config import DataConfig
from hiernas.fade.config import (
    CHOICE_MODES,
    MAX_DEPTH,
    MAX_WINDOW,
    RANK_SOURCE_NAMES,
    ModelConfig,
    TrainConfig,
    TrialConfig,
    rank_scoring,
)
from spaces.registry import SPACE_NAMES


def build_parser(add_help: bool = True) -> cli.OneLineParser:
    p = cli.OneLineParser(description=__doc__.splitlines()[0].split(": ", 1)[-1], add_help=add_help)
    p.add_argument("--depth", type=int, default=4, help=f"rows (cells) of the architecture, 1..{MAX_DEPTH}")
    p.add_argument("--window", type=int, default=6, help=f"candidate cells per row, 1..{MAX_WINDOW}")
    p.add_argument("--searcher", default="fade", help="fade | evolution | random")
    p.add_argument("--space", default="dag", choices=SPACE_NAMES,
                   help="the cells of the rows: FaDE's DAG cells, NAS-Bench-201 cells or DARTS genotypes")
    p.add_argument("--benchmark-table", default=None, metavar="FILE",
                   help="NAS-Bench-201 CSV (columns arch and one accuracy): adds the benchmark's accuracy of every "
                        "iteration's best path and of the final path to the results (--space nb201)")
    p.add_argument("--benchmark-column", default=None, help="the table's accuracy column, if it has several")
    p.add_argument("--iterations", type=cli.positive_int, default=4, help="batches of hyper-architectures")
    p.add_argument("--epochs", type=cli.positive_int, default=2, help="hyper-architecture epochs per iteration")
    p.add_argument("--repeats", type=cli.positive_int, default=2, help="trials per iteration (seeds, alpha averaged)")
    p.add_argument("--gamma", type=float, default=0.1, help="probe distance in the feature space, (0, 1]")
    p.add_argument("--step", type=float, default=1.0, help="pseudo-gradient step size lambda, > 0")
    p.add_argument("--fade-step", default="least_squares", choices=("least_squares", "pairs", "paper"),
                   help="FaDE's pseudo-gradient: least squares on the cells' real offsets, or equation (1)")
    p.add_argument("--fade-ties", default="random", choices=("random", "index"),
                   help="FaDE's choice among cells equally near a probe: a seeded uniform draw, or the lowest index")
    p.add_argument("--rank", default="alpha", choices=RANK_SOURCE_NAMES,
                   help="what ranks the cells: the architecture weights; the validation accuracy of sampled "
                        "paths with the trained shared weights (DARTS-PD's path scores); or the validation accuracy "
                        "drop (perturbation, DARTS-PT's measure) or loss rise (perturbation_loss) when a cell "
                        "leaves its row's mixture")
    p.add_argument("--rank-paths", type=cli.positive_int, default=64,
                   help="--rank pathwise: paths each trial scores after its last epoch (all when fewer exist)")
    p.add_argument("--temperature", type=cli.positive_float, default=ModelConfig.temperature,
                   help="Gumbel-softmax temperature")
    p.add_argument("--choice-mode", default="softmax", choices=CHOICE_MODES, help="how a row mixes its cells")
    cli.add_head_norm_flag(p)
    cli.add_data_flags(p, batch_size=64)
    p.add_argument("--seed", type=cli.non_negative_int, default=0, help="seed of the searcher and the trials")
    p.add_argument("--max-failures", type=cli.non_negative_int, default=2, help="retries of a failed trial")
    p.add_argument("--resume", action="store_true", help="continue the search in --results")
    p.add_argument("--final-epochs", type=cli.non_negative_int, default=15, help="stand-alone epochs of the best path")
    p.add_argument("--final-seeds", type=cli.positive_int, default=1,
                   help="final trainings of the best path (seeds --seed, +1, ...; one data split): test_acc is "
                        "their mean, less noisy than one training")
    p.add_argument("--race-paths", type=cli.non_negative_int, default=4,
                   help="top paths over all iterations raced stand-alone under ASHA for the final training "
                        "(0 or 1: the searcher's best)")
    p.add_argument("--race-epochs", type=cli.positive_int, default=6,
                   help="stand-alone epochs of a path that survives every ASHA rung (max_t)")
    cli.add_ray_flags(p, "results/fade_search")
    return p


def run(args: argparse.Namespace) -> int:
    from hiernas.errors import StorageError
    from hiernas.tune.search import SearchJob, SearchSettings

    if not 1 <= args.depth <= MAX_DEPTH or not 1 <= args.window <= MAX_WINDOW:
        raise ValueError(f"--depth must be in 1..{MAX_DEPTH} and --window in 1..{MAX_WINDOW}, "
                         f"got {args.depth} and {args.window}")
    base = TrialConfig(
        seed=args.seed,
        data=DataConfig(dataset=args.dataset, data_dir=args.data_dir, download=args.download,
                        batch_size=args.batch_size),
        model=ModelConfig(depth=args.depth, window=args.window, choice_mode=args.choice_mode,
                          temperature=args.temperature, space=args.space, head_norm=args.head_norm),
        train=TrainConfig(epochs=args.epochs, amp=args.amp, **rank_scoring(args.rank, args.rank_paths)),
    )
    settings = SearchSettings(
        searcher=args.searcher, iterations=args.iterations, repeats=args.repeats, gamma=args.gamma,
        step=args.step, fade_step=args.fade_step, fade_ties=args.fade_ties, rank=args.rank,
        final_epochs=args.final_epochs, final_seeds=args.final_seeds,
        race_paths=args.race_paths,
        race_epochs=args.race_epochs, cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial,
        max_concurrent=args.max_concurrent, max_failures=args.max_failures,
    )
    table = None
    if args.benchmark_table is not None:
        from hiernas.benchmark_table import load_table

        if args.space != "nb201":
            raise ValueError("--benchmark-table scores NAS-Bench-201 cells: use it with --space nb201")
        table = load_table(args.benchmark_table, args.benchmark_column)
    try:  # bad input fails before Ray starts
        job = SearchJob(settings, base, args.results, resume=args.resume, storage=args.storage, benchmark=table)
    except StorageError as error:
        raise StorageError(f"--storage {args.storage}: {error}") from None
    cli.show_progress_log("searchers.progress")
    cli.start_ray(args, job.storage)
    out = job.run()
    best = out["best"]
    acc = f", stand-alone test accuracy {best['test_acc']:.3f}" if "test_acc" in best else ""
    print(f"{out['iterations']} iterations in {out['wall_time_s']:.0f} s; best path {best.get('indices')} "
          f"from iteration {best.get('iteration')}{acc}; results in {args.results}")
    return 0


main = cli.command_main(build_parser, run)
