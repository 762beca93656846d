"""Noise on tabular ranks against rank agreement: exact at no noise, falling with noise, and the matched
level reproduces its target."""

from __future__ import annotations

import itertools

import pytest

from hiernas.benchmark_table import BenchmarkTable
from hiernas.rank_noise import AgreementSampler
from spaces.nb201 import OPS, Nb201Cell


def table(n: int = 60) -> BenchmarkTable:
    cells = itertools.islice(itertools.product(OPS, repeat=6), n)
    return BenchmarkTable("acc", {Nb201Cell(ops).arch_str: 80.0 + 0.25 * k for k, ops in enumerate(cells)})


def test_agreement_is_one_without_noise_and_falls_as_noise_grows() -> None:
    sampler = AgreementSampler.of(table(), window=6, count=800)
    levels = [sampler.agreement(noise, temperature=1.0) for noise in (0.0, 1.0, 4.0, 40.0)]
    assert levels[0] == pytest.approx(1.0)
    assert levels == sorted(levels, reverse=True) and levels[-1] < 0.1
    # a hotter temperature shrinks the logits' spread, so the same noise agrees less
    assert sampler.agreement(1.0, temperature=4.0) < levels[1]


def test_matched_noise_reproduces_the_target_and_is_seeded() -> None:
    sampler = AgreementSampler.of(table(), window=6, count=800)
    level = sampler.matched_noise(0.57, temperature=1.0)
    assert sampler.agreement(level, 1.0) == pytest.approx(0.57, abs=0.01)
    assert AgreementSampler.of(table(), window=6, count=800).matched_noise(0.57, 1.0) == level


def test_rows_of_one_cell_agree_and_too_wide_rows_are_refused() -> None:
    assert AgreementSampler.of(table(), window=1, count=10).agreement(5.0, 1.0) == 1.0
    with pytest.raises(ValueError, match="window must be in 1..60"):
        AgreementSampler.of(table(), window=61)
