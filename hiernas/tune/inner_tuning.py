"""Tune the inner trainer's own hyper-parameters with Optuna (TPE) and ASHA, as any Tune user would.

It shows that ``hyper_trainable`` is a plain Tune trainable: a stock search algorithm
(``ray.tune.search.optuna.OptunaSearch``) and scheduler (``ASHAScheduler``) drive it unchanged.
"""

from __future__ import annotations

from typing import Any

from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

from hiernas.fade.config import TrialConfig
from hiernas.tune.runtime import ProgressBar, make_tuner
from hiernas.tune.trainables import hyper_trainable


def search_space() -> dict[str, Any]:
    """The tuned knobs: weight and architecture learning rates, temperature, regulariser weight."""
    return {
        "train": {
            "weight_lr": tune.loguniform(1e-4, 1e-2),
            "arch_lr": tune.loguniform(1e-3, 1e-1),
            "reg_start": tune.uniform(0.0, 0.5),
        },
        "model": {"temperature": tune.loguniform(0.5, 20.0)},
    }


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def tune_inner(
    base: TrialConfig,
    num_samples: int,
    storage_path: str,
    cpus_per_trial: float = 1,
    gpus_per_trial: float = 0,
    max_concurrent: int = 2,
) -> tuple[dict[str, Any], float]:
    """Run the Optuna + ASHA search around ``base``; returns the best config and its ``val_acc``."""
    space = _merge(base.to_dict(), search_space())
    searcher = OptunaSearch(metric="val_acc", mode="max", seed=base.seed)
    scheduler = ASHAScheduler(
        time_attr="epoch", max_t=base.train.epochs, grace_period=max(1, base.train.epochs // 4), reduction_factor=2
    )
    tuner = make_tuner(
        hyper_trainable,
        name="tune_inner",
        storage_path=storage_path,
        param_space=space,
        cpus_per_trial=cpus_per_trial,
        gpus_per_trial=gpus_per_trial,
        callbacks=[ProgressBar(num_samples, "tune_inner", "val_acc")],
        search_alg=searcher,
        scheduler=scheduler,
        num_samples=num_samples,
        metric="val_acc",
        mode="max",
        max_concurrent_trials=max_concurrent,
    )
    best = tuner.fit().get_best_result(metric="val_acc", mode="max", scope="all")
    if best.error is not None or best.metrics is None:
        raise RuntimeError(f"no trial of tune_inner finished: {best.error}")
    return dict(best.config or {}), float(best.metrics["val_acc"])
