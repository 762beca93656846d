"""Real services for the multi-node tests: an S3-compatible server (moto in server mode) and a two-node Ray
cluster on one machine with token authentication on.

The head (``ray start --head --num-cpus=0``) takes no trials; the worker node (2 CPUs) runs in its own
mount namespace with a tmpfs over ``shadow``, so it sees its own, empty disk there, as a worker of a
cloud cluster would. The nodes get different loopback addresses (127.0.0.1 and 127.0.0.2), so a trial's
reported ``node_ip`` says where it ran. Every process is started in its own process group and stopped by
its id (SIGTERM to the group, SIGKILL after a grace period), also when a test fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RAY = str(Path(sys.executable).parent / "ray")
WORKER_IP = "127.0.0.2"
BUCKET = "hiernas-test"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process started with ``start_new_session`` and its group, by its id."""
    if proc.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


@contextmanager
def service(argv: list[str], log: Path, env: dict[str, str], ready: str, timeout: float = 120) -> Iterator[None]:
    """Run ``argv`` in its own session until the block ends; wait until its log shows ``ready``."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while ready not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv[:3]} did not start (exit {proc.poll()}): {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield
    finally:
        stop(proc)


@dataclass(frozen=True)
class Cluster:
    """What a test needs to use the running services."""

    address: str  # the head's GCS, host:port
    env: dict[str, str]  # environment of a driver: token auth, S3 credentials, quiet Ray
    endpoint: str  # the S3 server, host:port
    shadow: Path  # a directory the worker node sees as an empty tmpfs

    def storage(self, prefix: str) -> str:
        """A storage URI in the test bucket on the S3-compatible server."""
        return f"s3://{BUCKET}/{prefix}?endpoint_override={self.endpoint}&scheme=http&region=us-east-1"

    def keys(self, prefix: str) -> list[str]:
        """The keys under ``prefix`` in the test bucket."""
        client = s3_client(self.endpoint)
        return [obj["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
                for obj in page.get("Contents", [])]

    def read(self, key: str) -> bytes:
        """One object of the test bucket."""
        return bytes(s3_client(self.endpoint).get_object(Bucket=BUCKET, Key=key)["Body"].read())


def s3_client(endpoint: str) -> Any:
    """A boto3 S3 client of the test server (moto accepts any credentials)."""
    import boto3

    return boto3.client("s3", endpoint_url=f"http://{endpoint}", aws_access_key_id="testing",
                        aws_secret_access_key="testing", region_name="us-east-1")


def base_env(token_path: Path) -> dict[str, str]:
    """Token authentication on (the cluster's own token), fake S3 credentials, one thread per trial."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("HIERNAS_STORAGE", "RAY_ADDRESS")}
    return dict(
        inherited, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token_path), AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
        OMP_NUM_THREADS="1", RAY_DEDUP_LOGS="0", RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S="0",
    )


def wait_for_cpus(address: str, env: dict[str, str], cpus: str, timeout: float = 120) -> None:
    """Wait until ``ray status`` counts ``cpus`` (e.g. "2.0 CPU"): the worker node has joined."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = subprocess.run([RAY, "status", "--address", address], capture_output=True, text=True, env=env,
                                timeout=120)
        if f"/{cpus}" in status.stdout:
            return
        time.sleep(1)
    raise RuntimeError(f"the cluster at {address} did not reach {cpus} within {timeout} s")


@contextmanager
def two_node_cluster(root: Path) -> Iterator[Cluster]:
    """moto's S3 server with the test bucket, a CPU-less head and a 2-CPU worker in its own mount namespace."""
    token = root / "auth_token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    env = base_env(token)
    shadow = root / "shadow"
    shadow.mkdir()
    temp_dir = tempfile.mkdtemp(prefix="hn-", dir="/tmp")  # short: Ray's socket paths must stay < 108 bytes
    s3_port, gcs_port = free_port(), free_port()
    moto = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)]
    head = [RAY, "start", "--head", f"--port={gcs_port}", "--num-cpus=0", "--node-ip-address=127.0.0.1",
            "--include-dashboard=false", f"--dashboard-port={free_port()}", f"--ray-client-server-port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}", f"--temp-dir={temp_dir}", "--block"]
    worker = ["unshare", "-m", "--propagation", "private", "bash", "-c",
              f"mount -t tmpfs none {shadow} && exec {RAY} start --address=127.0.0.1:{gcs_port} --num-cpus=2 "
              f"--node-ip-address={WORKER_IP} --dashboard-agent-listen-port={free_port()} --block"]
    try:
        with (
            service(moto, root / "moto.log", env, "Running on"),
            service(head, root / "head.log", env, "Ray runtime started"),
            service(worker, root / "worker.log", env, "Ray runtime started"),
        ):
            s3_client(f"127.0.0.1:{s3_port}").create_bucket(Bucket=BUCKET)
            wait_for_cpus(f"127.0.0.1:{gcs_port}", env, "2.0 CPU")
            yield Cluster(f"127.0.0.1:{gcs_port}", env, f"127.0.0.1:{s3_port}", shadow)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
