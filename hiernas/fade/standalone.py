"""Stand-alone evaluation: train one discrete path (one cell per row) from scratch, report test accuracy.

A path is a ``HyperNet`` with window 1 in softmax mode: its single architecture weight mixes with weight
exactly 1 and is never stepped (``arch_lr = 0``), so the network is the plain chain of the path's cells,
built and trained by the same code as the hyper-architecture (no second network definition to drift).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from hiernas.checkpoint import Report, State
from hiernas.fade.config import TrialConfig
from hiernas.fade.hypernet import HyperNet
from hiernas.fade.trial import run_hyper_trial
from hiernas.scoring import evaluate
from hiernas.splits import Splits


def standalone_config(base: TrialConfig, path_cells: Sequence[Any], epochs: int | None = None,
                      seed: int | None = None) -> TrialConfig:
    """The trial config that trains ``path_cells`` (one cell JSON per row) alone, weights only, with the weight
    learning rate decayed by a cosine to 0 (measured: with FaDE's constant Adam step a converged path's accuracy
    drifts down again, so the last epoch's accuracy is noisy). ``head_norm`` is off: it only keeps the search's
    last-row alpha from scaling the logits, and a path alone has no alpha (as DARTS evaluates with another
    normalisation than it searches with)."""
    model = base.model.replace(depth=len(path_cells), window=1, choice_mode="softmax", share_weights=False,
                               head_norm=False)
    train = base.train.replace(
        arch_lr=0.0, prune_k=0, fair_epochs=0, eval_paths=0, scored_paths=(), top_k=1, weight_lr_schedule="cosine",
        epochs=base.train.epochs if epochs is None else epochs,
    )
    return TrialConfig(
        seed=base.seed if seed is None else seed, data=base.data, model=model, train=train,
        cells=tuple((cell,) for cell in path_cells),
    )


def _test_metrics(model: HyperNet, splits: Splits) -> dict[str, Any]:
    device = next(model.parameters()).device
    loss, acc = evaluate(model, splits.test, 256, device)
    params = sum(p.numel() for p in model.weight_parameters())
    return {"test_loss": loss, "test_acc": acc, "num_params": params}


def run_standalone(
    config: dict[str, Any] | TrialConfig,
    report: Report,
    resume: State | None = None,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """Train the path in ``config`` (window 1) from scratch; the last report adds ``test_acc``."""
    cfg = config if isinstance(config, TrialConfig) else TrialConfig.from_dict(config)
    if cfg.model.window != 1 or cfg.train.arch_lr != 0:
        raise ValueError("a stand-alone path needs model.window == 1 and train.arch_lr == 0 "
                         "(build it with hiernas.fade.standalone.standalone_config)")
    return run_hyper_trial(cfg, report, resume, device, final_metrics=_test_metrics)
