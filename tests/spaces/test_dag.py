"""Tests of the FaDE DAG space: enumeration, features, nearest lookup, JSON, edits."""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Iterator
from typing import Any

import networkx as nx
import numpy as np
import pytest

from spaces.base import CellSpace
from spaces.dag import (
    DEFAULT_FEATURES,
    FEATURES,
    DagCell,
    DagSpace,
    canonical,
    cell_from_json,
    register_feature,
)
from spaces.dag_features import FeatureFn

A003087 = {1: 1, 2: 2, 3: 6, 4: 31, 5: 302, 6: 5984}
BUILTIN_FEATURES = {"eccentricity_var", "degree_var", "num_vertices", "num_edges", "longest_path"}


@pytest.fixture(scope="module")
def space6() -> DagSpace:
    return DagSpace(6)


@pytest.fixture(scope="module")
def space4() -> DagSpace:
    return DagSpace(4)


@pytest.mark.parametrize("n", sorted(A003087))
def test_counts_per_vertex_count_match_oeis_a003087(space6: DagSpace, n: int) -> None:
    assert sum(cell.num_vertices == n for cell in space6.cells) == A003087[n]


def test_space_sizes_and_protocol(space6: DagSpace) -> None:
    assert len(space6) == sum(A003087.values())
    assert len(DagSpace(3)) == 1 + 2 + 6
    assert isinstance(space6, CellSpace)


def test_enumeration_matches_brute_force_isomorphism_up_to_5_vertices() -> None:
    """Independent check: dedupe all topologically labelled DAGs with networkx isomorphism."""
    space = DagSpace(5)
    for n in range(1, 5):
        pairs = [(u, v) for u in range(n) for v in range(u + 1, n)]
        classes: list[nx.DiGraph] = []
        for mask in range(1 << len(pairs)):
            g = nx.DiGraph()
            g.add_nodes_from(range(n))
            g.add_edges_from(p for b, p in enumerate(pairs) if mask >> b & 1)
            if not any(nx.is_isomorphic(g, h) for h in classes):
                classes.append(g)
        cells = [c for c in space.cells if c.num_vertices == n]
        assert len(classes) == len(cells)
        for cell in cells:
            g = nx.DiGraph()
            g.add_nodes_from(range(n))
            g.add_edges_from(cell.edges)
            assert sum(nx.is_isomorphic(g, h) for h in classes) == 1


def test_cells_are_canonical_and_distinct(space6: DagSpace) -> None:
    assert len(set(space6.cells)) == len(space6)
    for i, cell in enumerate(space6.cells[:400]):
        assert canonical(cell) == cell
        assert space6.index_of(cell) == i


def test_canonical_is_invariant_under_relabelling() -> None:
    rng = np.random.default_rng(3)
    space = DagSpace(5)
    for _ in range(50):
        cell = space.sample(rng)
        n = cell.num_vertices
        for perm in itertools.permutations(range(n)):
            mapped = [(perm[u], perm[v]) for u, v in cell.edges]
            if all(u < v for u, v in mapped):  # only topological relabellings are DagCells
                assert canonical(DagCell(n, tuple(mapped))) == canonical(cell)


def test_feature_order_permutes_columns_and_equal_spaces_share_their_tables(space6: DagSpace) -> None:
    reordered = DagSpace(6, feature_names=("num_vertices", "eccentricity_var", "degree_var"))
    assert reordered.cells == space6.cells
    np.testing.assert_array_equal(reordered.feature_matrix, space6.feature_matrix[:, [2, 0, 1]])
    again = DagSpace(6)  # the tables are built once per recipe, not per space
    assert again.cells is space6.cells and again.feature_matrix is space6.feature_matrix


def test_features_shape_range_and_normalisation(space6: DagSpace) -> None:
    matrix = space6.feature_matrix
    assert matrix.shape == (len(space6), 3)
    assert space6.dim == 3 and space6.feature_names == DEFAULT_FEATURES
    assert np.all(matrix >= 0.0) and np.all(matrix <= 1.0)
    np.testing.assert_allclose(matrix.min(axis=0), 0.0)
    np.testing.assert_allclose(matrix.max(axis=0), 1.0)
    cell = space6.cells[123]
    assert space6.features(cell).shape == (3,)
    low, high = space6.bounds
    assert low.shape == high.shape == (3,)


def test_raw_features_agree_with_networkx_on_the_full_graph(space4: DagSpace) -> None:
    for cell, raw in zip(space4.cells, space4.raw_feature_matrix, strict=True):
        graph = space4.to_graph(cell)
        assert {"input", "output"} <= set(graph.nodes)
        assert nx.is_directed_acyclic_graph(graph)
        undirected = graph.to_undirected()
        assert nx.is_connected(undirected)
        eccentricity = list(nx.eccentricity(undirected).values())
        degrees = [d for _, d in graph.degree()]
        assert raw[0] == pytest.approx(np.var(eccentricity))
        assert raw[1] == pytest.approx(np.var(degrees))
        assert raw[2] == cell.num_vertices


def test_to_graph_wires_input_to_sources_and_sinks_to_output(space4: DagSpace) -> None:
    cell = DagCell(4, ((0, 1), (0, 2)))  # 3 is isolated: both a source and a sink
    graph = space4.to_graph(cell)
    assert set(graph.successors("input")) == {0, 3}
    assert set(graph.predecessors("output")) == {1, 2, 3}


def test_unknown_feature_names_and_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="valid names"):
        DagSpace(4, feature_names=("eccentricity_var", "girth"))
    with pytest.raises(ValueError, match="1..6"):
        DagSpace(7)
    with pytest.raises(ValueError, match="1..6"):
        DagSpace(0)
    with pytest.raises(ValueError, match="already registered"):
        register_feature("num_vertices", lambda cell: 0.0)


@pytest.fixture
def feature_registry() -> Iterator[dict[str, FeatureFn]]:
    """The ``FEATURES`` registry; every name a test registers is removed again, the others stay as they were."""
    before = dict(FEATURES)
    yield FEATURES
    for name in set(FEATURES) - set(before):
        del FEATURES[name]
    assert FEATURES == before


def test_extra_registered_feature_is_usable(feature_registry: dict[str, FeatureFn]) -> None:
    name = "test_sources"
    register_feature(name, lambda cell: float(len(cell.sources())))
    assert feature_registry[name](DagCell(3, ((0, 2),))) == 2.0
    space = DagSpace(3, feature_names=("num_vertices", name))
    assert space.dim == 2 and space.feature_matrix.shape == (len(space), 2)
    sources = [float(len(cell.sources())) for cell in space.cells]
    np.testing.assert_array_equal(space.raw_feature_matrix[:, 1], sources)
    with pytest.raises(ValueError, match="already registered"):
        register_feature(name, lambda cell: 0.0)


def test_a_name_registered_anew_gets_its_own_values(feature_registry: dict[str, FeatureFn]) -> None:
    name = "test_constant"
    register_feature(name, lambda cell: 1.0)
    np.testing.assert_array_equal(DagSpace(2, feature_names=(name,)).raw_feature_matrix, 1.0)
    del feature_registry[name]
    register_feature(name, lambda cell: 2.0)
    np.testing.assert_array_equal(DagSpace(2, feature_names=(name,)).raw_feature_matrix, 2.0)


def test_registering_tests_leave_the_registry_as_they_found_it() -> None:
    """Runs after the tests above: their registrations are gone and a space cannot use them."""
    assert set(FEATURES) == BUILTIN_FEATURES
    with pytest.raises(ValueError, match="valid names"):
        DagSpace(3, feature_names=("num_vertices", "test_sources"))


def test_nearest_returns_the_cell_at_its_own_feature_point(space6: DagSpace) -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        cell = space6.sample(rng)
        found = space6.nearest(space6.features(cell))
        np.testing.assert_array_equal(space6.features(found), space6.features(cell))
    for cell in space6.cells[:40]:  # small cells often have a feature vector of their own
        group = [c for c in space6.cells if np.array_equal(space6.features(c), space6.features(cell))]
        assert space6.nearest(space6.features(cell)) == group[0]  # ties go to the lowest index


def test_nearest_is_deterministic_and_exact(space6: DagSpace) -> None:
    rng = np.random.default_rng(1)
    matrix = space6.feature_matrix
    for _ in range(50):
        point = rng.random(3) * 1.2 - 0.1
        found = space6.nearest(point)
        best = np.min(np.linalg.norm(matrix - point, axis=1))
        assert np.linalg.norm(space6.features(found) - point) == pytest.approx(best)
        assert space6.nearest(point) == found


def test_nearest_skips_excluded_cells_including_a_whole_tie_group(space6: DagSpace) -> None:
    cell = space6.cells[-1]
    point = space6.features(cell)
    group = [c for c in space6.cells if np.array_equal(space6.features(c), point)]
    assert len(group) > 1
    second = space6.nearest(point, exclude=[group[0]])
    assert second == group[1]
    outside = space6.nearest(point, exclude=group)
    assert outside not in group
    dist = np.linalg.norm(space6.feature_matrix - point, axis=1)
    others = [i for i, c in enumerate(space6.cells) if c not in group]
    assert np.linalg.norm(space6.features(outside) - point) == pytest.approx(dist[others].min())


def test_nearest_rejects_bad_points_and_full_exclusion() -> None:
    space = DagSpace(2)
    with pytest.raises(ValueError, match="shape"):
        space.nearest([0.5, 0.5])
    with pytest.raises(ValueError, match="finite"):
        space.nearest([np.nan, 0.0, 0.0])
    with pytest.raises(ValueError, match="excluded"):
        space.nearest([0.0, 0.0, 0.0], exclude=space.cells)


def test_json_round_trip_for_every_cell_of_the_4_vertex_space(space4: DagSpace) -> None:
    for cell in space4.cells:
        obj = space4.encode(cell)
        assert obj == {"n": cell.num_vertices, "edges": [list(e) for e in cell.edges]}
        assert space4.decode(obj) == cell
        assert cell_from_json(obj) == cell


def test_decode_canonicalises_relabelled_cells(space4: DagSpace) -> None:
    a = space4.decode({"n": 3, "edges": [[0, 2]]})
    b = space4.decode({"n": 3, "edges": [[1, 2]]})
    assert a == b == canonical(DagCell(3, ((0, 1),)))


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([3, []], "JSON object"),
        ({"n": 3}, "exactly the keys"),
        ({"n": 3, "edges": [], "ops": []}, "exactly the keys"),
        ({"n": "3", "edges": []}, "integer in 1..4"),
        ({"n": True, "edges": []}, "integer in 1..4"),
        ({"n": 0, "edges": []}, "integer in 1..4"),
        ({"n": 5, "edges": []}, "integer in 1..4"),
        ({"n": 3, "edges": {"0": 1}}, "list of"),
        ({"n": 3, "edges": [[0, 1, 2]]}, "pair of integers"),
        ({"n": 3, "edges": [[0, 1.5]]}, "pair of integers"),
        ({"n": 3, "edges": [[1, 1]]}, "u < v"),
        ({"n": 3, "edges": [[2, 1]]}, "u < v"),
        ({"n": 3, "edges": [[0, 3]]}, "u < v"),
        ({"n": 3, "edges": [[0, 1], [0, 1]]}, "duplicate"),
    ],
)
def test_decode_errors(space4: DagSpace, obj: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        space4.decode(obj)
    assert "\n" not in str(info.value)


def test_cells_outside_the_space_are_rejected(space4: DagSpace) -> None:
    big = DagCell(5, ((0, 1),))
    for call in (space4.index_of, space4.features, space4.encode):
        with pytest.raises(ValueError, match="1..4"):
            call(big)


def test_mutate_stays_in_space_and_changes_the_cell(space6: DagSpace) -> None:
    rng = np.random.default_rng(5)
    for _ in range(300):
        cell = space6.sample(rng)
        child = space6.mutate(cell, rng)
        assert space6.cells[space6.index_of(child)] == child
        assert child != cell
        assert child in space6.neighbours(cell)
    only = DagSpace(1)
    assert only.mutate(only.cells[0], rng) == only.cells[0]


def test_mutate_reaches_every_edit_kind() -> None:
    space = DagSpace(3)
    cell = DagCell(2, ((0, 1),))
    counts = {c.num_vertices for c in space.neighbours(cell)}
    assert counts == {1, 2, 3}


def test_crossover_stays_in_space(space6: DagSpace) -> None:
    rng = np.random.default_rng(6)
    for _ in range(300):
        a, b = space6.sample(rng), space6.sample(rng)
        child = space6.crossover(a, b, rng)
        assert space6.cells[space6.index_of(child)] == child
        assert child.num_vertices in (a.num_vertices, b.num_vertices)
    same = space6.sample(rng)
    assert space6.crossover(same, same, rng) == same


def test_same_seed_same_samples(space6: DagSpace) -> None:
    def draw(seed: int) -> list[DagCell]:
        rng = np.random.default_rng(seed)
        return [space6.sample(rng) for _ in range(20)] + [space6.mutate(space6.cells[-1], rng)]

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


def test_samples_cover_the_space_uniformly() -> None:
    space = DagSpace(3)
    rng = np.random.default_rng(0)
    counts = np.bincount([space.index_of(space.sample(rng)) for _ in range(9000)], minlength=len(space))
    assert counts.min() > 800 and counts.max() < 1200


def test_space_pickles_by_recipe(space6: DagSpace) -> None:
    data = pickle.dumps(space6)
    assert len(data) < 1000
    clone = pickle.loads(data)
    assert clone.cells == space6.cells and clone.feature_names == space6.feature_names


def test_dag_cell_normalises_edge_order() -> None:
    assert DagCell(3, ((1, 2), (0, 1))) == DagCell(3, ((0, 1), (1, 2)))
    with pytest.raises(ValueError, match=">= 1"):
        DagCell(0)


def test_old_import_paths_name_the_one_definition() -> None:
    from spaces import dag, dag_cell, dag_features

    assert dag.DagCell is dag_cell.DagCell and dag.canonical is dag_cell.canonical
    assert dag.cell_from_json is dag_cell.cell_from_json
    assert dag.FEATURES is dag_features.FEATURES and dag.register_feature is dag_features.register_feature
    assert dag.DEFAULT_FEATURES is dag_features.DEFAULT_FEATURES
