"""Tests of hiernas.results: atomic JSON/CSV writes that never leave partial files, and the PNG plots."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from hiernas import results
from hiernas.results import (
    plot_alpha_heatmap,
    plot_panels,
    plot_rank_scatter,
    plot_series,
    plot_trajectories,
    read_csv,
    read_json,
    write_csv,
    write_json,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_json_round_trip_is_sorted_and_indented(tmp_path: Path) -> None:
    path = tmp_path / "out" / "summary.json"  # the parent is created
    write_json(path, {"b": [1, 2.5], "a": {"z": None, "y": True}, "np": np.arange(3), "f": np.float32(0.5)})
    assert read_json(path) == {"a": {"y": True, "z": None}, "b": [1, 2.5], "f": 0.5, "np": [0, 1, 2]}
    text = path.read_text()
    assert text.index('"a"') < text.index('"b"') and '\n  "a": {' in text
    assert os.listdir(path.parent) == ["summary.json"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, np.float32("nan"), np.array([1.0, np.nan])])
def test_nan_is_rejected_and_the_previous_file_kept(tmp_path: Path, bad: object) -> None:
    path = tmp_path / "summary.json"
    write_json(path, {"rho": 0.5})
    with pytest.raises(ValueError, match="summary.json"):
        write_json(path, {"rho": bad})
    assert read_json(path) == {"rho": 0.5}
    assert os.listdir(tmp_path) == ["summary.json"]


def test_unserialisable_object_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="object"):
        write_json(tmp_path / "x.json", {"x": object()})
    assert os.listdir(tmp_path) == []


def test_failure_during_the_rename_removes_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "summary.json"
    write_json(path, {"v": 1})

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(results.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_json(path, {"v": 2})
    assert os.listdir(tmp_path) == ["summary.json"] and read_json(path) == {"v": 1}


def test_written_files_are_readable_by_others(tmp_path: Path) -> None:
    write_json(tmp_path / "a.json", {})
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644


def test_read_json_names_a_malformed_file(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"a": ')
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        read_json(tmp_path / "bad.json")


def test_csv_round_trip(tmp_path: Path) -> None:
    rows = [
        {"path": "0-1-2", "log_rank": -1.5, "seeds": 3},
        {"path": "2-2-0", "log_rank": -0.25, "note": 'comma, "quote"\nnewline'},
    ]
    write_csv(tmp_path / "paths.csv", rows)
    back = read_csv(tmp_path / "paths.csv")
    assert list(back[0]) == ["path", "log_rank", "seeds", "note"]
    assert back == [
        {"path": "0-1-2", "log_rank": "-1.5", "seeds": "3", "note": ""},
        {"path": "2-2-0", "log_rank": "-0.25", "seeds": "", "note": 'comma, "quote"\nnewline'},
    ]
    assert sorted(os.listdir(tmp_path)) == ["paths.csv"]


def test_csv_with_explicit_fieldnames(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.csv", [{"b": 1, "a": 2}], fieldnames=["a", "b"])
    assert (tmp_path / "a.csv").read_text().splitlines() == ["a,b", "2,1"]
    with pytest.raises(ValueError):
        write_csv(tmp_path / "a.csv", [{"b": 1, "c": 2}], fieldnames=["a", "b"])
    assert (tmp_path / "a.csv").read_text().splitlines() == ["a,b", "2,1"]


def _assert_png(path: Path) -> None:
    assert path.stat().st_size > 1000 and path.read_bytes().startswith(PNG_MAGIC)
    assert os.listdir(path.parent) == [path.name]


def test_plots_write_png_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ranks = rng.normal(size=20).tolist()
    plot_rank_scatter(tmp_path / "scatter" / "rank.png", ranks, [r + rng.normal() for r in ranks], 0.71, 1e-3)
    plot_alpha_heatmap(tmp_path / "alpha" / "alpha.png", rng.random((4, 6)).tolist())
    trajectories = {row: rng.random((5, 3)) for row in range(4)}
    plot_trajectories(tmp_path / "traj" / "traj.png", trajectories, ["ecc_var", "deg_var", "vertices"])
    plot_series(
        tmp_path / "series" / "acc.png", {"train": [0.1, 0.5, 0.7], "val": [0.1, 0.4]}, "epoch", "acc", "t"
    )
    plot_panels(tmp_path / "panels" / "p.png", {"val_acc": [0.5, None, 0.7], "log-rank": [-3.0, -2.5, -2.0]}, "it", "t")
    for name in ("scatter/rank.png", "alpha/alpha.png", "traj/traj.png", "series/acc.png", "panels/p.png"):
        _assert_png(tmp_path / name)


def test_rank_scatter_survives_degenerate_inputs(tmp_path: Path) -> None:
    plot_rank_scatter(tmp_path / "one.png", [1.0], [0.5], math.nan, math.nan)  # no line, nan title
    _assert_png(tmp_path / "one.png")
    with pytest.raises(ValueError, match="equally long"):
        plot_rank_scatter(tmp_path / "bad.png", [1.0, 2.0], [0.5], 0.0, 1.0)


def test_plot_input_shapes_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one series"):
        plot_panels(tmp_path / "p.png", {}, "it", "t")
    with pytest.raises(ValueError, match="depth, window"):
        plot_alpha_heatmap(tmp_path / "a.png", [1.0, 2.0])
    with pytest.raises(ValueError, match="row 1"):
        plot_trajectories(tmp_path / "t.png", {0: np.zeros((3, 2)), 1: np.zeros((3, 3))}, ["a", "b"])
    assert os.listdir(tmp_path) == []
