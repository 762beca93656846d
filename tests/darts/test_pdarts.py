"""P-DARTS: stages shrink the operations by alpha, the skip rule, the dropout schedule, exact resume, config."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from hiernas.darts.config import DartsConfig
from hiernas.darts.progressive import restrict_skips_darts, restrict_skips_nb201, skip_drop_rate
from hiernas.darts.search import run_darts_search
from hiernas.darts.skeleton import num_edges
from spaces.darts import PRIMITIVES, genotype_from_json
from spaces.nb201 import OPS, parse_arch

Reports = list[tuple[dict[str, Any], dict[str, Any] | None]]


def _run(cfg: DartsConfig, resume: dict[str, Any] | None = None) -> Reports:
    reports: Reports = []
    run_darts_search(cfg, lambda metrics, state: reports.append((metrics, state)), resume=resume)
    return reports


@pytest.mark.parametrize(
    ("space", "cells", "primitives"), [("darts", (1, 2, 3), PRIMITIVES), ("nb201", (1, 1, 1), OPS)]
)
def test_operations_shrink_per_stage_to_the_strongest(
    space: str, cells: tuple[int, ...], primitives: tuple[str, ...], tiny_config: Callable[..., DartsConfig]
) -> None:
    cfg = tiny_config("pdarts", space=space, pdarts_cells=cells, pdarts_max_skips=0)
    reports = _run(cfg)
    metrics = [m for m, _ in reports]
    assert [m["stage"] for m in metrics] == ["pdarts-1", "pdarts-2", "pdarts-3"]
    assert [m["epoch"] for m in metrics] == [1, 2, 3]
    assert [m["final"] for m in metrics] == [False, False, True]
    kinds = ("cell",) if space == "nb201" else ("normal", "reduce")
    for stage, m in enumerate(metrics):
        ops = json.loads(m["pdarts_ops"])
        assert set(ops) == set(kinds)
        assert {len(names) for kind in kinds for names in ops[kind]} == {cfg.stage_ops[stage]}
        if stage:  # the previous stage's strongest operations of every edge, per cell type
            previous = metrics[stage - 1]
            for kind in kinds:
                alpha = np.asarray(previous[f"alpha_{kind}"])  # (E, all ops), pruned ones 0
                order = np.argsort(-alpha, axis=1, kind="stable")[:, : cfg.stage_ops[stage]]
                top = [{primitives[i] for i in row} for row in order]
                assert [set(names) for names in ops[kind]] == top
    history = json.loads(metrics[-1]["alpha_history"])
    assert len(history) == 3 and {np.asarray(h[f"alpha_{kinds[0]}"]).shape[1] for h in history} == {len(primitives)}
    final = metrics[-1][cfg.arch_key]
    if space == "nb201":  # no skip connection left with pdarts_max_skips=0
        assert "skip_connect" not in parse_arch(final).ops
        parse_arch(metrics[-1]["pdarts_derived"])
    else:
        assert all(op != "skip_connect" for op, _ in genotype_from_json(final).normal)
        genotype_from_json(metrics[-1]["pdarts_derived"])


def test_skip_rule_keeps_the_strongest_skips_in_the_normal_cell() -> None:
    steps = 4
    rng = np.random.default_rng(0)
    normal = rng.uniform(0.0, 0.05, (num_edges(steps), len(PRIMITIVES)))
    skip = PRIMITIVES.index("skip_connect")
    normal[:, skip] = np.linspace(0.5, 0.9, num_edges(steps))  # skip strongest everywhere, later edges more
    reduce = normal.copy()
    unrestricted = restrict_skips_darts(normal, reduce, steps, max_skips=8)
    assert [op for op, _ in unrestricted.normal] == ["skip_connect"] * 8
    genotype = restrict_skips_darts(normal, reduce, steps, max_skips=2)
    kept = [(i // 2, source) for i, (op, source) in enumerate(genotype.normal) if op == "skip_connect"]
    assert kept == [(3, 3), (3, 4)]  # the last edges (node 3 from nodes 3, 4): the strongest skips
    assert genotype.reduce == unrestricted.reduce  # the rule leaves the reduction cell alone
    assert "skip_connect" not in [op for op, _ in restrict_skips_darts(normal, reduce, steps, 0).normal]
    with pytest.raises(ValueError, match=">= 0"):
        restrict_skips_darts(-normal, reduce, steps, 2)


def test_skip_rule_in_a_nas_bench_201_cell() -> None:
    weights = np.full((6, len(OPS)), 0.1)
    weights[:, OPS.index("skip_connect")] = [0.6, 0.5, 0.9, 0.4, 0.8, 0.7]
    weights[:, OPS.index("nor_conv_3x3")] = 0.2  # the next best of every edge
    cell = restrict_skips_nb201(weights, max_skips=2)
    assert [e for e, op in enumerate(cell.ops) if op == "skip_connect"] == [2, 4]
    assert [op for e, op in enumerate(cell.ops) if e not in (2, 4)] == ["nor_conv_3x3"] * 4


def test_skip_dropout_schedule_is_linear_in_the_warm_up_then_exponential() -> None:
    assert skip_drop_rate(0.4, 0, 25, 10) == pytest.approx(0.4 * 24 / 25)
    assert skip_drop_rate(0.4, 9, 25, 10) == pytest.approx(0.4 * 15 / 25)
    assert skip_drop_rate(0.4, 10, 25, 10) == pytest.approx(0.4)
    assert skip_drop_rate(0.7, 14, 25, 10) == pytest.approx(0.7 * math.exp(-0.8))
    assert skip_drop_rate(0.0, 3, 25, 0) == 0.0


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert set(a) == set(b)
    for key in a.keys() - {"epoch_time", "peak_memory_mb"}:  # measurements, not results
        if isinstance(a[key], float):
            assert a[key] == pytest.approx(b[key], abs=1e-6), key
        else:
            assert a[key] == b[key], key


def test_resume_mid_stage_and_at_a_stage_end_equals_the_uninterrupted_run(
    tiny_config: Callable[..., DartsConfig],
) -> None:
    cfg = tiny_config("pdarts", pdarts_cells=(1, 2, 3), epochs=2, warmup_epochs=1, pdarts_skip_drop=(0.3, 0.5, 0.7))
    full = _run(cfg)
    assert len(full) == 6
    for done in (3, 2):  # mid stage 2 (skip dropout on: the RNG state matters), end of stage 1 (pruned on resume)
        resumed = _run(cfg, resume=full[done - 1][1])
        assert len(resumed) == 6 - done
        for (a, _), (b, _) in zip(resumed, full[done:], strict=True):
            _same(a, b)
    again = _run(cfg, resume=full[-1][1])  # from the final checkpoint: reported again, nothing run
    assert len(again) == 1 and again[0][1] is None and again[0][0]["final"] is True


def test_bad_stage_lists_name_the_field(tiny_config: Callable[..., DartsConfig]) -> None:
    with pytest.raises(ValueError, match="pdarts_cells"):
        tiny_config("pdarts", pdarts_cells=(5, 11))  # 2 stages, 3 op counts and dropout rates
    with pytest.raises(ValueError, match="pdarts_ops"):
        tiny_config("pdarts", pdarts_ops=(8, 3, 5))  # must not grow
    with pytest.raises(ValueError, match="pdarts_ops"):
        tiny_config("pdarts", space="nb201", pdarts_ops=(4, 3, 2))  # stage 1 needs every operation
