"""The search loop: every method for one epoch, resume, warm-up, temperature, config round trip."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import torch

from hiernas.darts.config import DartsConfig, method_defaults
from hiernas.darts.search import run_darts_search, temperature_at
from hiernas.darts.supernets import build_search_network
from spaces.darts import genotype_from_json


def _collect() -> tuple[list[tuple[dict[str, Any], dict[str, Any] | None]], Any]:
    reports: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    return reports, lambda metrics, state: reports.append((metrics, state))


@pytest.mark.parametrize("method", ["darts", "darts2", "pcdarts", "gdas", "darts-pd"])
def test_every_method_runs_one_epoch_and_reports_a_genotype(
    method: str, tiny_config: Callable[..., DartsConfig]
) -> None:
    reports, report = _collect()
    final = run_darts_search(tiny_config(method), report)
    assert final["final"] is True and reports[-1][0] is final
    for metrics, state in reports:
        genotype_from_json(metrics["genotype"])
        assert state is not None and json.dumps(metrics)  # metrics are JSON-able
    assert [m["epoch"] for m, _ in reports] == list(range(1, len(reports) + 1))
    if method == "darts-pd":
        assert [m["stage"] for m, _ in reports] == ["search", "fair", "evolution"]
        sizes = [a["params"] for a in json.loads(final["pd_architectures"])]
        assert len(set(sizes)) == len(sizes) >= 1
    else:
        assert len(json.loads(final["alpha_history"])) == 1


def test_resume_continues_exactly(tiny_config: Callable[..., DartsConfig]) -> None:
    cfg = tiny_config("darts", epochs=2)
    reports, report = _collect()
    run_darts_search(cfg, report)
    resumed, report2 = _collect()
    run_darts_search(cfg, report2, resume=reports[0][1])
    assert resumed[0][0]["epoch"] == 2
    assert resumed[0][0]["genotype"] == reports[1][0]["genotype"]
    assert resumed[0][0]["val_loss"] == pytest.approx(reports[1][0]["val_loss"], abs=1e-6)
    again, report3 = _collect()
    run_darts_search(cfg, report3, resume=reports[-1][1])  # from the final checkpoint: report again
    assert again[0][0]["final"] is True and again[0][1] is None


def test_pcdarts_warmup_freezes_alpha_then_moves_it(tiny_config: Callable[..., DartsConfig]) -> None:
    reports, report = _collect()
    run_darts_search(tiny_config("pcdarts", epochs=2, warmup_epochs=1), report)
    first, second = reports[0][0], reports[1][0]
    assert first["arch_frozen"] and not second["arch_frozen"]
    history = json.loads(second["alpha_history"])
    initial = build_search_network(tiny_config("pcdarts"), 3, 10)  # alpha is initialised from the seed
    frozen = torch.softmax(initial.alpha_normal.detach(), -1)
    torch.testing.assert_close(torch.tensor(history[0]["alpha_normal"]), frozen)
    assert history[0]["alpha_normal"] != history[1]["alpha_normal"]
    assert DartsConfig.for_method("pcdarts").warmup_epochs == 15
    assert "beta_normal" in history[0]


def test_gdas_temperature_anneals_from_10_to_0_1(tiny_config: Callable[..., DartsConfig]) -> None:
    cfg = DartsConfig.for_method("gdas", epochs=5)
    assert temperature_at(0, cfg) == pytest.approx(10.0)
    assert temperature_at(4, cfg) == pytest.approx(0.1)
    reports, report = _collect()
    run_darts_search(tiny_config("gdas", epochs=2), report)
    assert [m["temperature"] for m, _ in reports] == pytest.approx([10.0, 0.1])


def test_config_round_trips_and_rejects_unknown_keys() -> None:
    cfg = DartsConfig.for_method("pcdarts", epochs=3)
    assert DartsConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert (cfg.data.batch_size, cfg.weight_lr, cfg.arch_lr, cfg.channel_fraction) == (256, 0.1, 6e-4, 4)
    with pytest.raises(ValueError, match="learning_rate"):
        DartsConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(ValueError, match="unknown method"):
        DartsConfig(method="enas")
    darts = DartsConfig.for_method("darts")
    assert (darts.epochs, darts.data.batch_size, darts.weight_lr, darts.weight_lr_min) == (
        50,
        64,
        0.025,
        0.001,
    )
    assert darts.order == 1 and DartsConfig.for_method("darts2").order == 2
    assert method_defaults("darts-pd")["fair_epochs"] == 600
