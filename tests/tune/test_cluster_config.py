"""cluster.yaml is accepted by the schema `ray up` validates against (shipped in the installed ray), and starts
every node with token authentication, the one token, a loopback dashboard and the shared storage."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import jsonschema
import ray
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load() -> tuple[str, dict[str, Any]]:
    with open(os.path.join(ROOT, "cluster.yaml")) as handle:
        text = handle.read()
    return text, yaml.safe_load(text)


def test_cluster_yaml_validates_against_rays_schema() -> None:
    with open(os.path.join(os.path.dirname(ray.__file__), "autoscaler", "ray-schema.json")) as handle:
        schema = json.load(handle)
    _, config = load()
    jsonschema.validate(config, schema)
    assert config["available_node_types"]["worker_gpu"]["resources"]["GPU"] == 1


def test_every_node_starts_ray_with_token_auth_the_one_token_and_the_storage() -> None:
    text, config = load()
    assert "disabled" not in text  # token authentication is never turned off
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"  # one token, every node
    env_line = next(c for c in config["setup_commands"] if "~/.hiernas_env" in c and c.startswith("echo"))
    assert "RAY_AUTH_MODE=token" in env_line and re.search(r"HIERNAS_STORAGE=s3://\S+", env_line)
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        start = next(c for c in config[key] if "ray start" in c)
        assert start.startswith("source ~/.hiernas_env && "), start
    head = next(c for c in config["head_start_ray_commands"] if "ray start" in c)
    assert "--dashboard-host=127.0.0.1" in head
