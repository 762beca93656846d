"""Bad input to scripts/fade_search.py: one line on stderr, exit code 2, nothing written."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "fade_search.py"


def run(args: list[str], results: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--results", str(results), "--no-dashboard", *args],
        capture_output=True, text=True, timeout=300, env=env,
    )


BAD_INPUT = [
    (["--depth", "0"], "depth"),
    (["--depth", "100"], "depth"),
    (["--window", "100"], "window"),
    (["--window", "0"], "window"),
    (["--window", "1"], "window"),  # FaDE needs at least one +- pair
    (["--gamma", "0"], "gamma"),
    (["--gamma", "1.5"], "gamma"),
    (["--step", "-1"], "step"),
    (["--searcher", "bayes"], "searcher"),
    (["--dataset", "imagenet"], "dataset"),
    (["--dataset", "cifar10", "--data-dir", "/nonexistent/cifar"], "cifar10"),
    (["--resume"], "resume"),
]


def check_refused(code: object, stderr: str, expected: str, results: Path) -> None:
    """Exit code 2, one line naming ``expected`` on stderr, no traceback, no results directory."""
    assert code == 2, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0].lower(), stderr
    assert "Traceback" not in stderr
    assert not results.exists()


@pytest.mark.parametrize("args,expected", [BAD_INPUT[4], BAD_INPUT[10]])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], expected: str) -> None:
    """As a user sees it: a fresh process (a refusal in the parser and one in the search set-up)."""
    results = tmp_path / "out"
    proc = run(args, results)
    check_refused(proc.returncode, proc.stderr, expected, results)


@pytest.mark.parametrize("args,expected", BAD_INPUT)
def test_every_bad_input_is_refused_by_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    """Every case through the command's own ``main`` in this process (the same code as the script,
    without paying a Python start per case)."""
    from hiernas.cli.search import main

    results = tmp_path / "out"
    with pytest.raises(SystemExit) as info:
        main(["--results", str(results), "--no-dashboard", *args])
    check_refused(info.value.code, capsys.readouterr().err, expected, results)


def test_resume_refuses_a_directory_of_another_configuration(tmp_path: Path) -> None:
    results = tmp_path / "out"
    results.mkdir()
    marker = results / "search_config.json"
    marker.write_text(json.dumps({"search": {"searcher": "random"}, "trial": {}}))
    before = marker.read_text()
    proc = run(["--resume"], results)
    assert proc.returncode == 2 and "different configuration" in proc.stderr
    assert marker.read_text() == before and sorted(p.name for p in results.iterdir()) == ["search_config.json"]


def test_gpus_the_cluster_does_not_have_are_refused(tmp_path: Path) -> None:
    results = tmp_path / "out"
    proc = run(["--gpus-per-trial", "1", "--dataset", "synthetic"], results)
    assert proc.returncode == 2 and "gpus" in proc.stderr.splitlines()[-1].lower(), proc.stderr
    assert not results.exists()


def test_resume_accepts_a_search_saved_before_later_fields_existed(tmp_path: Path) -> None:
    """A saved trial config without fields added since (their defaults keep the old behaviour) still
    matches; a real difference is still refused."""
    from hiernas.fade.config import ModelConfig, TrialConfig
    from hiernas.tune.search import SearchSettings, _fingerprint, check_resume

    settings, base = SearchSettings(), TrialConfig(model=ModelConfig(depth=2, window=3))
    saved = _fingerprint(settings, base)
    del saved["trial"]["model"]["head_norm"], saved["trial"]["train"]["weight_lr_schedule"]
    del saved["search"]["fade_ties"], saved["search"]["final_seeds"]
    (tmp_path / "search_config.json").write_text(json.dumps(saved))
    assert check_resume(str(tmp_path), dataclasses.replace(settings, fade_ties="index"), base, True)
    with pytest.raises(ValueError, match="different configuration"):
        check_resume(str(tmp_path), settings, base.replace(model=base.model.replace(head_norm=True)), True)


@pytest.mark.parametrize("rank,fields", [
    ("alpha", {"eval_paths": 0, "perturbation": False}),
    ("pathwise", {"eval_paths": 64, "perturbation": False}),
    ("perturbation", {"eval_paths": 0, "perturbation": True}),
    ("perturbation_loss", {"eval_paths": 0, "perturbation": True}),
])
def test_each_rank_source_gets_trials_that_score_what_it_reads(rank: str, fields: dict[str, object]) -> None:
    """``--rank`` sets the trial fields its matrix needs; a searcher refuses trials that would not report it."""
    from hiernas.cli.search import build_parser
    from hiernas.fade.config import RANK_SOURCE_NAMES, ModelConfig, TrainConfig, TrialConfig, rank_scoring
    from hiernas.tune.search import SearchSettings, build_searcher
    from searchers.records import RANK_SOURCES

    assert rank_scoring(rank, 64) == fields and tuple(RANK_SOURCES) == RANK_SOURCE_NAMES
    assert rank in build_parser()._option_string_actions["--rank"].choices
    base = TrialConfig(model=ModelConfig(depth=2, window=3), train=TrainConfig(**rank_scoring(rank, 64)))
    build_searcher(SearchSettings(rank=rank), base)
    if rank != "alpha":
        with pytest.raises(ValueError, match="needs trials that score"):
            build_searcher(SearchSettings(rank=rank), base.replace(train=TrainConfig()))


def test_perturbation_ranks_in_hard_gumbel_mode_warn_that_they_are_unmeasured(
        caplog: pytest.LogCaptureFixture) -> None:
    from hiernas.fade.config import ModelConfig, TrainConfig, TrialConfig, rank_scoring
    from hiernas.tune.search import SearchSettings, build_searcher

    for mode in ("softmax", "gumbel_hard"):
        base = TrialConfig(model=ModelConfig(depth=2, window=3, choice_mode=mode),
                           train=TrainConfig(**rank_scoring("perturbation", 64)))
        with caplog.at_level("WARNING", logger="hiernas.tune.search"):
            caplog.clear()
            build_searcher(SearchSettings(rank="perturbation"), base)
            build_searcher(SearchSettings(rank="alpha"), base)
        warned = [r.getMessage() for r in caplog.records if "never runs" in r.getMessage()]
        assert len(warned) == (mode == "gumbel_hard"), (mode, warned)  # the perturbation rank only, hard mode only
