"""A failed search fails (issue 11, item 3): when no iteration succeeded, ``SearchJob.run`` raises
``TrialError`` naming the first trial's error and writes no result file. Real Tune trials that fail in
the trial itself (a regulariser scale per row for the wrong number of rows); the command line's exit code
1 on a real cluster is in ``test_multinode.py``. A search that Tune stopped on a signal (Ctrl-C) raises
``Interrupted``, writes no result file, and resumes to the end."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from ray import tune

from hiernas.config import DataConfig
from hiernas.errors import Interrupted, TrialError
from hiernas.fade.config import ModelConfig, TrainConfig, TrialConfig
from hiernas.tune.runtime import completed, make_tuner
from hiernas.tune.search import SearchJob, SearchSettings


def test_a_search_without_a_successful_iteration_raises_the_first_trial_error(
    ray_session: None, tmp_path: Path
) -> None:
    base = TrialConfig(
        seed=0, data=DataConfig(dataset="synthetic", batch_size=16, synthetic_size=64),
        model=ModelConfig(depth=2, window=2), train=TrainConfig(epochs=1, reg_row_scale=(1.0,)),
    )
    settings = SearchSettings(iterations=2, repeats=1, final_epochs=1, max_failures=0)
    job = SearchJob(settings, base, str(tmp_path / "out"))
    with pytest.raises(TrialError, match="no iteration succeeded.*reg_row_scale has 1 entries") as info:
        job.run()
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ray", "search_config.json"]
    assert len(job.searcher.history) == 2 and {r["status"] for r in job.searcher.history} == {"failed"}


class _StopAfterFirstResult(tune.Callback):
    """Stops the Tune run the way Ctrl-C does: Tune's own handler of SIGUSR1 (the same as of SIGINT) saves
    the experiment state and returns from ``fit`` as if the run were done. Once only: ``Tuner.restore``
    brings back the pickled callbacks, so the marker file, not an attribute, says it was sent."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def on_trial_result(self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any],
                        **info: Any) -> None:
        if not self.marker.exists():
            self.marker.touch()
            os.kill(os.getpid(), signal.SIGUSR1)


def test_an_interrupted_search_writes_nothing_and_resumes_to_the_end(ray_session: None, tmp_path: Path) -> None:
    base = TrialConfig(
        seed=0, data=DataConfig(dataset="synthetic", batch_size=16, synthetic_size=64),
        model=ModelConfig(depth=2, window=2), train=TrainConfig(epochs=2),
    )
    settings = SearchSettings(iterations=2, repeats=1, final_epochs=1, race_paths=0)
    out = tmp_path / "out"
    marker = tmp_path / "stop-sent"
    with pytest.raises(Interrupted, match=r"interrupted after [01] of 2 iterations; resume it"):
        SearchJob(settings, base, str(out)).run(callbacks=[_StopAfterFirstResult(marker)])
    assert marker.exists() and not (out / "best.json").exists() and not (out / "search.json").exists()
    resumed = SearchJob(settings, base, str(out), resume=True).run()
    assert resumed["iterations"] == 2 and (out / "best.json").exists()


def test_a_grid_stopped_on_a_signal_is_not_taken_for_its_results(ray_session: None, tmp_path: Path) -> None:
    """The race and the final trainings read their grid through ``completed``: unfinished trials raise."""
    def _counting_trainable(config: dict[str, Any]) -> None:  # local: the workers get it by value
        for step in range(3):
            tune.report({"val_acc": config["x"] + step})

    tuner = make_tuner(_counting_trainable, name="grid", storage_path=str(tmp_path / "ray"),
                       param_space={"x": tune.grid_search([0.0, 1.0, 2.0])}, max_concurrent_trials=1,
                       callbacks=[_StopAfterFirstResult(tmp_path / "stop-sent")])
    with pytest.raises(Interrupted, match=r"grid was interrupted with [123] of 3 trials unfinished"):
        completed(tuner.fit(), "grid", 3)
    finished = make_tuner(_counting_trainable, name="whole", storage_path=str(tmp_path / "ray"),
                          param_space={"x": tune.grid_search([0.0, 1.0])}).fit()
    assert completed(finished, "whole", 2) is finished
