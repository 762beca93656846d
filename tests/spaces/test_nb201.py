"""Tests of the NAS-Bench-201 space: cells and their string, features, nearest lookup, edits, pickling."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from spaces.base import CellSpace
from spaces.nb201 import (
    DEFAULT_FEATURES,
    EDGES,
    FEATURES,
    OPS,
    Nb201Cell,
    Nb201Space,
    arch_string,
    parse_arch,
)
from spaces.nb201_features import PATHS

# The best CIFAR-10 cell of the benchmark (test accuracy after 200 epochs: 94.37), as its tables write it.
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"


@pytest.fixture(scope="module")
def space() -> Nb201Space:
    return Nb201Space()


def test_constants_follow_the_benchmark() -> None:
    assert OPS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    assert EDGES == ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
    assert PATHS == ((3,), (0, 4), (1, 5), (0, 2, 5))


def test_space_holds_15625_distinct_cells_in_index_order(space: Nb201Space) -> None:
    assert len(space) == len(space.cells) == 5**6 == 15_625
    assert len(set(space.cells)) == len(space)
    assert all(space.index_of(cell) == i for i, cell in enumerate(space.cells))
    assert space.cells[0].ops == ("none",) * 6 and space.cells[-1].ops == ("avg_pool_3x3",) * 6
    assert isinstance(space, CellSpace)


def test_every_cell_round_trips_through_its_string(space: Nb201Space) -> None:
    strings = [space.encode(cell) for cell in space.cells]
    assert len(set(strings)) == len(space)
    for cell, text in zip(space.cells, strings, strict=True):
        assert parse_arch(text) == cell == space.decode(text)
        assert cell.arch_str == text == arch_string(cell)


def test_arch_string_layout() -> None:
    cell = parse_arch(BEST)
    assert cell.ops == ("nor_conv_3x3",) * 3 + ("skip_connect", "nor_conv_1x1", "nor_conv_3x3")
    assert cell.arch_str == BEST
    assert parse_arch(f"  {BEST}\n") == cell


@pytest.mark.parametrize(
    "text, message",
    [
        ("|none~0|+|none~0|none~1|", "2 node group"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|", "4 node group"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 has 1 edge\\(s\\), expected 2"),
        ("|none~0|+|none~0|none~1|none~1|+|none~0|none~1|none~2|", "node 2 has 3 edge"),
        ("none~0+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 group 'none~0' must start and end with '\\|'"),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv' in 'conv~0'"),
        ("|none~0|+|nor_conv_3x3~1|none~1|+|none~0|none~1|none~2|",
         "edge 'nor_conv_3x3~1' of node 2 should come from node 0"),
        ("|none~0|+|none~0|none~x|+|none~0|none~1|none~2|", "edge 'none~x' of node 2 should come from node 1"),
        ("|none|+|none~0|none~1|+|none~0|none~1|none~2|", "edge 'none' of node 1 is not of the form"),
        ("", "1 node group"),
        (42, "expected a string"),
    ],
)
def test_malformed_strings_name_the_bad_part(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"^bad NAS-Bench-201 architecture .*{message}") as caught:
        parse_arch(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "ops, message",
    [
        (("none",) * 5, "needs 6 operations"),
        (("none",) * 5 + ("conv",), "unknown operation"),
        ("none", "must be a sequence"),
    ],
)
def test_cell_validates_its_operations(ops: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Nb201Cell(ops)  # type: ignore[arg-type]


def test_cell_accepts_a_list_and_stays_hashable() -> None:
    cell = Nb201Cell(["none"] * 6)  # type: ignore[arg-type]
    assert cell.ops == ("none",) * 6 and hash(cell) == hash(Nb201Cell(("none",) * 6))


def test_decode_refuses_anything_but_a_string(space: Nb201Space) -> None:
    with pytest.raises(ValueError, match="expected its architecture string"):
        space.decode(list(space.cells[3].ops))
    with pytest.raises(ValueError, match="bad NAS-Bench-201 architecture"):
        space.decode("|none~0|")


def test_features_lie_in_the_unit_box_for_every_cell(space: Nb201Space) -> None:
    matrix = space.feature_matrix
    assert matrix.shape == (len(space), space.dim) and space.dim == len(DEFAULT_FEATURES) == 8
    assert matrix.min() >= 0.0 and matrix.max() <= 1.0
    assert np.all(matrix.min(axis=0) == 0.0) and np.all(matrix.max(axis=0) == 1.0)
    low, high = space.bounds
    for cell in space.cells[::97]:
        vector = space.features(cell)
        assert vector.shape == (space.dim,) and np.all(vector >= low) and np.all(vector <= high)


def test_default_features_of_known_cells(space: Nb201Space) -> None:
    names = space.feature_names
    raw = dict(zip(names, space.raw_feature_matrix[space.index_of(parse_arch(BEST))].tolist(), strict=True))
    assert raw == {
        "count_none": 0, "count_skip_connect": 1, "count_nor_conv_1x1": 1, "count_nor_conv_3x3": 4,
        "count_avg_pool_3x3": 0, "conv_depth": 3, "live_paths": 4, "live_param_free": 1,
    }  # fmt: skip
    # Node 3 reads only node 1, which reads the input through "none": every path is dead.
    dead = Nb201Cell(("none", "nor_conv_3x3", "skip_connect", "none", "nor_conv_3x3", "none"))
    raw = dict(zip(names, space.raw_feature_matrix[space.index_of(dead)].tolist(), strict=True))
    assert raw["conv_depth"] == raw["live_paths"] == raw["live_param_free"] == 0
    assert np.all(np.isfinite(space.features(dead)))


def test_live_counts_ignore_dead_edges() -> None:
    # Edge 1->3 is live; 0->2 and 2->1 carry ops, but node 2 feeds the output only through "none".
    cell = Nb201Cell(("skip_connect", "nor_conv_3x3", "nor_conv_1x1", "none", "nor_conv_3x3", "none"))
    assert FEATURES["live_paths"](cell) == 1
    assert FEATURES["live_nor_conv_3x3"](cell) == 1 and FEATURES["live_nor_conv_1x1"](cell) == 0
    assert FEATURES["count_nor_conv_3x3"](cell) == 2 and FEATURES["depth"](cell) == 2


def test_feature_choice_and_bad_names() -> None:
    chosen = Nb201Space(feature_names=("depth", "live_nor_conv_3x3"))
    assert chosen.dim == 2 and chosen.feature_names == ("depth", "live_nor_conv_3x3")
    for names, message in (((), "must not be empty"), (("width",), "unknown feature"), (("depth",) * 2, "duplicate")):
        with pytest.raises(ValueError, match=message):
            Nb201Space(feature_names=names)


def test_nearest_returns_the_cell_of_its_own_features(space: Nb201Space) -> None:
    rng = np.random.default_rng(0)
    matrix = space.feature_matrix
    for index in rng.choice(len(space), size=60, replace=False).tolist():
        cell = space.cells[index]
        twins = np.flatnonzero(np.all(matrix == matrix[index], axis=1)).tolist()
        assert space.nearest(space.features(cell)) == space.cells[twins[0]]  # ties: lowest index
        earlier = [space.cells[i] for i in twins if i < index]
        assert space.nearest(space.features(cell), exclude=earlier) == cell


def test_nearest_respects_exclude_and_matches_brute_force(space: Nb201Space) -> None:
    rng = np.random.default_rng(1)
    matrix = space.feature_matrix
    for _ in range(20):
        point = rng.random(space.dim)
        excluded = {int(i) for i in rng.choice(len(space), size=int(rng.integers(0, 3000)), replace=False)}
        order = np.lexsort((np.arange(len(space)), np.linalg.norm(matrix - point, axis=1)))
        expected = next(i for i in order.tolist() if i not in excluded)
        found = space.nearest(point, exclude=[space.cells[i] for i in excluded])
        assert space.index_of(found) == expected


def test_nearest_skips_a_whole_group_and_refuses_excluding_everything(space: Nb201Space) -> None:
    cell = parse_arch(BEST)
    twins = [c for c in space.cells if np.array_equal(space.features(c), space.features(cell))]
    other = space.nearest(space.features(cell), exclude=twins)
    assert other not in twins
    with pytest.raises(ValueError, match="all 15625 cells"):
        space.nearest(space.features(cell), exclude=space.cells)
    with pytest.raises(ValueError, match="shape"):
        space.nearest(np.zeros(space.dim + 1))


def test_mutation_changes_exactly_one_edge(space: Nb201Space) -> None:
    rng = np.random.default_rng(2)
    for _ in range(500):
        cell = space.sample(rng)
        child = space.mutate(cell, rng)
        assert sum(a != b for a, b in zip(cell.ops, child.ops, strict=True)) == 1
        assert child in space.neighbours(cell) and 0 <= space.index_of(child) < len(space)
    assert len(space.neighbours(space.cells[0])) == 24


def test_crossover_takes_each_edge_from_a_parent(space: Nb201Space) -> None:
    rng = np.random.default_rng(3)
    taken_from_a = 0
    for _ in range(300):
        a, b = space.sample(rng), space.sample(rng)
        child = space.crossover(a, b, rng)
        assert all(c in (x, y) for c, x, y in zip(child.ops, a.ops, b.ops, strict=True))
        taken_from_a += sum(c == x != y for c, x, y in zip(child.ops, a.ops, b.ops, strict=True))
    assert 0 < taken_from_a
    assert space.crossover(space.cells[5], space.cells[5], rng) == space.cells[5]


def test_seeded_sampling_is_deterministic_and_spread(space: Nb201Space) -> None:
    draws = [space.sample(np.random.default_rng(7)) for _ in range(3)]
    assert draws[0] == draws[1] == draws[2]
    rng_a, rng_b = np.random.default_rng(11), np.random.default_rng(11)
    first = [space.sample(rng_a) for _ in range(200)]
    assert first == [space.sample(rng_b) for _ in range(200)]
    assert len(set(first)) > 190


def test_graph_has_four_nodes_and_the_ops_on_its_edges(space: Nb201Space) -> None:
    cell = parse_arch(BEST)
    graph = space.to_graph(cell)
    assert isinstance(graph, nx.DiGraph) and sorted(graph.nodes) == [0, 1, 2, 3]
    assert graph.number_of_edges() == 6 and graph.edges[0, 3]["op"] == "skip_connect"
    assert [graph.edges[s, t]["op"] for t, s in EDGES] == list(cell.ops)
    assert graph.nodes[0]["kind"] == "input" and graph.nodes[3]["kind"] == "output"


def test_pickling_ships_the_recipe(space: Nb201Space) -> None:
    chosen = Nb201Space(feature_names=("conv_depth", "live_paths"))
    for original in (space, chosen):
        data = pickle.dumps(original)
        assert len(data) < 500
        copy = pickle.loads(data)
        assert copy.feature_names == original.feature_names and repr(copy) == repr(original)
        assert np.array_equal(copy.feature_matrix, original.feature_matrix)
    cell = parse_arch(BEST)
    assert pickle.loads(pickle.dumps(cell)) == cell


def test_module_imports_neither_torch_ray_nor_hiernas() -> None:
    code = "import spaces.nb201, sys; assert not {'torch', 'ray', 'hiernas'} & set(sys.modules), sys.modules.keys()"
    repo = Path(__file__).resolve().parents[2]
    completed = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
