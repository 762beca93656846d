"""The search on a real two-node Ray cluster (issue 11, items 1, 3, 4, 5 and 7), with token authentication on.

Trials can only run on the worker node (the head has no CPUs), which sees its own empty disk where the
driver keeps its results (``tests/tune/multinode_cluster.py``). Shown here: a search whose storage is a local path
is refused before it starts, with one line; with ``--storage`` in a bucket of an S3-compatible server
the trials run on the worker, their checkpoints land in the bucket, and a driver killed the moment a
trial finished resumes from the bucket with the record of an uninterrupted run; a search whose every
trial fails (data only the driver has) exits 1 with one line naming the trial error and writes nothing.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from multinode_cluster import BUCKET, RAY, WORKER_IP, Cluster, two_node_cluster

from hiernas.errors import StorageError
from hiernas.tune.storage import check_storage

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "fade_search.py"
ITERATIONS = 3
SEARCH = ["--dataset", "synthetic", "--depth", "2", "--window", "2", "--iterations", str(ITERATIONS), "--repeats",
          "1", "--epochs", "1", "--final-epochs", "1", "--race-paths", "2", "--race-epochs", "1", "--seed", "7",
          "--no-dashboard"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with two_node_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


def search(cluster: Cluster, results: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(SCRIPT), *SEARCH, "--address", cluster.address, "--results", str(results), *extra]
    return subprocess.run(argv, capture_output=True, text=True, env=cluster.env, timeout=600)


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines of stderr that are not Ray's own log output (which goes to stderr as well)."""
    return [line for line in proc.stderr.splitlines() if line.startswith("error")]


def result_rows(cluster: Cluster, prefix: str) -> dict[str, list[dict[str, Any]]]:
    """Tune's result rows of every trial under ``prefix`` in the bucket, by trial directory."""
    rows = {}
    for key in cluster.keys(prefix):
        if key.endswith("/result.json"):
            text = cluster.read(key).decode()
            rows[key.split("/")[-2]] = [json.loads(line) for line in text.splitlines() if line.strip()]
    return rows


def finished_trials(cluster: Cluster, prefix: str) -> set[str]:
    """Search trials whose (one-epoch, so final) checkpoint is in the bucket."""
    return {key.split("/")[-3].removeprefix("hyper_trainable_") for key in cluster.keys(f"{prefix}/search/")
            if key.endswith("/checkpoint_000000/state.pt")}


def test_token_authentication_is_on(cluster: Cluster, tmp_path: Path) -> None:
    """The cluster refuses a client with another token and serves one with its own (both nodes joined)."""
    wrong = tmp_path / "wrong_token"
    wrong.write_text("0" * 64)
    status = [RAY, "status", "--address", cluster.address]
    refused = subprocess.run(status, capture_output=True, text=True, timeout=120,
                             env=cluster.env | {"RAY_AUTH_TOKEN_PATH": str(wrong)})
    allowed = subprocess.run(status, capture_output=True, text=True, env=cluster.env, timeout=120)
    assert refused.returncode != 0 and allowed.returncode == 0, (refused.stderr[-1000:], allowed.stderr[-1000:])
    assert "/2.0 CPU" in allowed.stdout  # the worker's two CPUs: it joined with the token


def test_an_empty_address_starts_a_new_local_ray_beside_a_cluster(cluster: Cluster) -> None:
    """Local means local: with RAY_ADDRESS naming the cluster, no --address still starts a fresh Ray."""
    code = ("from hiernas.tune.runtime import init_ray; import ray; init_ray(num_cpus=1, dashboard=False); "
            "print(len(ray.nodes()), ray.cluster_resources()['CPU'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=cluster.env | {"RAY_ADDRESS": cluster.address})
    assert proc.returncode == 0 and proc.stdout.split() == ["1", "1.0"], proc.stderr[-2000:]


def test_a_bucket_that_does_not_exist_is_refused(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED"):
        monkeypatch.setenv(key, cluster.env[key])
    check_storage(cluster.storage("runs"))
    with pytest.raises(StorageError, match="bucket no-such-bucket does not exist"):
        check_storage(cluster.storage("runs").replace(BUCKET, "no-such-bucket"))


def test_local_storage_is_refused_on_a_cluster(cluster: Cluster) -> None:
    results = cluster.shadow / "refused"
    proc = search(cluster, results)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --storage") and "s3://" in lines[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and not results.exists()


def test_search_in_a_bucket_survives_a_killed_driver(cluster: Cluster) -> None:
    reference = search(cluster, cluster.shadow / "reference", "--storage", cluster.storage("reference"))
    assert reference.returncode == 0, reference.stderr[-2000:]

    killed = cluster.shadow / "killed"
    argv = [sys.executable, str(SCRIPT), *SEARCH, "--address", cluster.address, "--results", str(killed),
            "--storage", cluster.storage("killed")]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cluster.env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while len(done_at_kill := finished_trials(cluster, "killed")) < 2:  # the second trial just finished
            assert proc.poll() is None, f"the search ended (exit {proc.returncode}) before two trials had finished"
            assert time.monotonic() < deadline, "two trials did not finish within 300 s"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert not (killed / "search.json").exists()
    # the storage recorded in search_config.json; before the restored searcher was settled against Tune's
    # restored trial table (they are uploaded separately and can differ), this resume could hang
    resumed = search(cluster, killed, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    expected = json.loads((cluster.shadow / "reference" / "search.json").read_text())
    got = json.loads((killed / "search.json").read_text())
    strip = [{k: v for k, v in r.items() if k != "trial_ids"} for r in expected["iterations"]]
    log = resumed.stderr[-4000:]  # what the resumed driver said (searcher warnings, reconciliation) when it fails
    assert [{k: v for k, v in r.items() if k != "trial_ids"} for r in got["iterations"]] == strip, log
    recorded = {t for r in got["iterations"] for ids in r["trial_ids"] for t in ids}
    assert len(recorded) == ITERATIONS and done_at_kill <= recorded  # no finished trial trained again
    best = json.loads((killed / "best.json").read_text())
    assert best == json.loads((cluster.shadow / "reference" / "best.json").read_text()) and "race" in best
    assert got["experiment_dir"] == cluster.storage("killed").replace("killed?", "killed/search?")
    assert not (killed / "ray").exists()  # Tune's experiments are in the bucket only

    rows = result_rows(cluster, "killed/")
    assert {key.split("_")[0] for key in rows} == {"hyper", "standalone"}  # search, race and final training
    assert {row["node_ip"] for trial in rows.values() for row in trial} == {WORKER_IP}
    # a trial the killed driver had started may still finish on the worker after the kill; when Tune's last
    # uploaded trial table predates it, the resumed search hands its slot out again (same config and seed),
    # so that one trial is trained twice: a known cost (see searchers.reconcile). Nothing finished at the kill
    # is trained again, and at most that one orphan exists.
    orphans = finished_trials(cluster, "killed") - recorded
    assert len(orphans) <= 1 and not orphans & done_at_kill, (orphans, done_at_kill, recorded)
    assert recorded <= finished_trials(cluster, "killed")


def write_cifar_batches(directory: Path) -> None:
    """A small CIFAR-10 in the official python format: data_batch_1 and test_batch of random images."""
    directory.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, size in (("data_batch_1", 200), ("test_batch", 50)):
        batch = {b"data": rng.integers(0, 256, (size, 3072), dtype=np.uint8),
                 b"labels": [int(k) % 10 for k in range(size)]}
        (directory / name).write_bytes(pickle.dumps(batch, protocol=2))


def test_a_search_whose_every_trial_fails_exits_1_with_the_trial_error(cluster: Cluster) -> None:
    data = cluster.shadow / "cifar"  # the driver has the data; the worker node sees an empty directory
    write_cifar_batches(data)
    results = cluster.shadow / "failing"
    argv = ["--dataset", "cifar10", "--data-dir", str(data), "--iterations", "1", "--max-failures", "0",
            "--storage", cluster.storage("failing")]
    proc = search(cluster, results, *argv)
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = error_lines(proc)
    assert len(lines) == 1 and "no iteration succeeded" in lines[0] and "cifar10" in lines[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr  # tracebacks stay in the trial's error.txt in the bucket
    assert sorted(p.name for p in results.iterdir()) == ["search_config.json"]  # no result file claims a search
