"""The DARTS operation space: 8 primitives, genotypes, their graphs and features (numpy/networkx, no torch).

A genotype describes the normal and the reduction cell of a DARTS network: each of the ``steps``
intermediate nodes takes two inputs (``(operation, input_index)`` pairs; inputs 0 and 1 are the outputs
of the two previous cells, ``i + 2`` is intermediate node ``i``) and the cell outputs the concatenation
of the nodes in ``*_concat``. The JSON form uses the field names of the published genotypes::

    {"normal": [["sep_conv_3x3", 0], ...], "normal_concat": [2, 3, 4, 5],
     "reduce": [...], "reduce_concat": [2, 3, 4, 5]}

``DartsSpace`` implements ``spaces.base.CellSpace`` over genotypes so the FaDE searcher can walk DARTS
cells. The space has 7^16 x (2*3*6*10)^2 members, so ``nearest`` searches a seeded pool of sampled
genotypes (plus the published ones) with a KD-tree instead of the whole space; see ``DartsSpace``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from spaces.base import FloatArray, UnitFeatureBox
from spaces.tabulated import TIE_TOLERANCE

__all__ = [
    "CELL_TYPES",
    "DARTS_V1",
    "DARTS_V2",
    "PC_DARTS",
    "PRIMITIVES",
    "PUBLISHED",
    "DartsSpace",
    "Genotype",
    "genotype_from_json",
    "genotype_to_graph",
    "named_genotype",
]

Edge = tuple[str, int]

PRIMITIVES: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
CELL_TYPES: tuple[str, str] = ("normal", "reduce")
_OPERATIONS = PRIMITIVES[1:]  # what a derived genotype may contain: every primitive but ``none``


@dataclass(frozen=True)
class Genotype:
    """A DARTS architecture: two inputs per intermediate node for the normal and the reduction cell."""

    normal: tuple[Edge, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Edge, ...]
    reduce_concat: tuple[int, ...]

    def __post_init__(self) -> None:
        for cell in CELL_TYPES:
            edges, concat = getattr(self, cell), getattr(self, f"{cell}_concat")
            if len(edges) == 0 or len(edges) % 2:
                raise ValueError(f"{cell} must list two (op, input) pairs per node, got {len(edges)} pairs")
            steps = len(edges) // 2
            for position, (op, source) in enumerate(edges):
                if op not in PRIMITIVES:
                    raise ValueError(
                        f"{cell}[{position}]: unknown operation {op!r}; valid: {list(PRIMITIVES)}"
                    )
                node = position // 2
                if not isinstance(source, int | np.integer) or not 0 <= int(source) < node + 2:
                    raise ValueError(
                        f"{cell}[{position}]: input {source!r} of node {node} must be an int"
                        f" in [0, {node + 1}]"
                    )
            if not concat or any(not 0 <= int(c) < steps + 2 for c in concat):
                raise ValueError(
                    f"{cell}_concat {list(concat)} must be non-empty indices in [0, {steps + 1}]"
                )
        if len(self.normal) != len(self.reduce):
            raise ValueError("normal and reduce cells must have the same number of nodes")

    @property
    def steps(self) -> int:
        """Number of intermediate nodes per cell."""
        return len(self.normal) // 2

    def cell(self, cell_type: str) -> tuple[Edge, ...]:
        """The edges of ``"normal"`` or ``"reduce"``."""
        if cell_type not in CELL_TYPES:
            raise KeyError(f"unknown cell type {cell_type!r}; valid: {list(CELL_TYPES)}")
        return getattr(self, cell_type)  # type: ignore[no-any-return]

    def concat(self, cell_type: str) -> tuple[int, ...]:
        """The concatenated node indices of ``"normal"`` or ``"reduce"``."""
        self.cell(cell_type)
        return getattr(self, f"{cell_type}_concat")  # type: ignore[no-any-return]

    def to_json(self) -> dict[str, Any]:
        """The published JSON form (lists of ``[op, input]`` pairs)."""
        return {
            "normal": [[op, int(i)] for op, i in self.normal],
            "normal_concat": [int(c) for c in self.normal_concat],
            "reduce": [[op, int(i)] for op, i in self.reduce],
            "reduce_concat": [int(c) for c in self.reduce_concat],
        }

    def dumps(self) -> str:
        """Compact JSON string (what trials report as the current genotype)."""
        return json.dumps(self.to_json(), separators=(",", ":"))


def _edges(obj: Any, name: str) -> tuple[Edge, ...]:
    if not isinstance(obj, Sequence) or isinstance(obj, str):
        raise ValueError(f"genotype field {name!r} must be a list of [op, input] pairs, got {obj!r}")
    edges = []
    for pair in obj:
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"genotype field {name!r}: expected [op, input] pairs, got {pair!r}")
        op, source = pair
        if not isinstance(op, str) or isinstance(source, bool) or not isinstance(source, int):
            raise ValueError(f"genotype field {name!r}: expected [str, int], got {pair!r}")
        edges.append((op, source))
    return tuple(edges)


def genotype_from_json(obj: Mapping[str, Any] | str) -> Genotype:
    """Parse and validate a genotype from its JSON form (a dict or a JSON string); raises ``ValueError``."""
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as error:
            raise ValueError(f"genotype is not valid JSON: {error}") from None
    if not isinstance(obj, Mapping):
        raise ValueError(f"genotype JSON must be an object, got {type(obj).__name__}")
    fields = ("normal", "normal_concat", "reduce", "reduce_concat")
    missing, unknown = [f for f in fields if f not in obj], sorted(set(obj) - set(fields))
    if missing or unknown:
        raise ValueError(
            f"genotype JSON: missing fields {missing}, unknown fields {unknown}; expected {list(fields)}"
        )
    concats = []
    for name in ("normal_concat", "reduce_concat"):
        value = obj[name]
        if not isinstance(value, Sequence) or any(
            isinstance(c, bool) or not isinstance(c, int) for c in value
        ):
            raise ValueError(f"genotype field {name!r} must be a list of ints, got {value!r}")
        concats.append(tuple(value))
    return Genotype(_edges(obj["normal"], "normal"), concats[0], _edges(obj["reduce"], "reduce"), concats[1])


def _published(normal: str, reduce: str) -> Genotype:
    """Compact literal form ``"op:input op:input ..."`` for the published cells below."""

    def parse(text: str) -> tuple[Edge, ...]:
        return tuple((op, int(i)) for op, i in (item.split(":") for item in text.split()))

    return Genotype(parse(normal), (2, 3, 4, 5), parse(reduce), (2, 3, 4, 5))


# Liu et al. 2019 (DARTS), first order, as published in the DARTS repository (genotypes.py, ``DARTS_V1``).
DARTS_V1 = _published(
    "sep_conv_3x3:1 sep_conv_3x3:0 skip_connect:0 sep_conv_3x3:1 skip_connect:0 sep_conv_3x3:1 "
    "sep_conv_3x3:0 skip_connect:2",
    "max_pool_3x3:0 max_pool_3x3:1 skip_connect:2 max_pool_3x3:0 max_pool_3x3:0 skip_connect:2 "
    "skip_connect:2 avg_pool_3x3:0",
)
# DARTS second order (``DARTS_V2``): 3.3M parameters in the 20-cell, 36-channel CIFAR-10 network.
DARTS_V2 = _published(
    "sep_conv_3x3:0 sep_conv_3x3:1 sep_conv_3x3:0 sep_conv_3x3:1 sep_conv_3x3:1 skip_connect:0 "
    "skip_connect:0 dil_conv_3x3:2",
    "max_pool_3x3:0 max_pool_3x3:1 skip_connect:2 max_pool_3x3:1 max_pool_3x3:0 skip_connect:2 "
    "skip_connect:2 max_pool_3x3:1",
)
# Xu et al. 2020 (PC-DARTS), the CIFAR-10 cell (``PC_DARTS_cifar``): 3.6M parameters.
PC_DARTS = _published(
    "sep_conv_3x3:1 skip_connect:0 sep_conv_3x3:0 dil_conv_3x3:1 sep_conv_5x5:0 sep_conv_3x3:1 "
    "avg_pool_3x3:0 dil_conv_3x3:1",
    "sep_conv_5x5:1 max_pool_3x3:0 sep_conv_5x5:1 sep_conv_5x5:2 sep_conv_3x3:0 sep_conv_3x3:3 "
    "sep_conv_3x3:1 sep_conv_3x3:2",
)
PUBLISHED: dict[str, Genotype] = {"DARTS_V1": DARTS_V1, "DARTS_V2": DARTS_V2, "PC_DARTS": PC_DARTS}


def named_genotype(name: str) -> Genotype:
    """A published genotype by name (``DARTS`` is an alias of ``DARTS_V2``, as in the DARTS repository)."""
    key = {"DARTS": "DARTS_V2", "PC_DARTS_CIFAR": "PC_DARTS", "PCDARTS": "PC_DARTS"}.get(
        name.upper(), name.upper()
    )
    if key not in PUBLISHED:
        raise KeyError(f"unknown genotype name {name!r}; valid: {sorted(PUBLISHED)} (and DARTS)")
    return PUBLISHED[key]


def genotype_to_graph(genotype: Genotype) -> nx.DiGraph:
    """Both cells as one DiGraph: nodes ``"<cell>/<i>"`` (0, 1 the cell inputs) and ``"<cell>/out"``.

    Node attribute ``kind`` is ``input``, ``intermediate`` or ``output``; edge attribute ``op`` names the
    operation (the concatenation edges into ``out`` carry ``op="concat"``).
    """
    graph = nx.DiGraph()
    for cell in CELL_TYPES:
        edges, concat = genotype.cell(cell), genotype.concat(cell)
        for i in range(genotype.steps + 2):
            graph.add_node(f"{cell}/{i}", cell=cell, kind="input" if i < 2 else "intermediate", index=i)
        graph.add_node(f"{cell}/out", cell=cell, kind="output", index=genotype.steps + 2)
        for position, (op, source) in enumerate(edges):
            graph.add_edge(f"{cell}/{source}", f"{cell}/{position // 2 + 2}", op=op, slot=position)
        for c in concat:
            graph.add_edge(f"{cell}/{c}", f"{cell}/out", op="concat")
    return graph


def _cell_features(edges: Sequence[Edge], steps: int) -> list[float]:
    """Op fractions (8), mean normalised input position, normalised depth of the deepest node."""
    counts = [0.0] * len(PRIMITIVES)
    for op, _ in edges:
        counts[PRIMITIVES.index(op)] += 1.0
    fractions = [c / len(edges) for c in counts]
    reach = float(np.mean([source / (position // 2 + 1) for position, (_, source) in enumerate(edges)]))
    depth = [1] * steps
    for position, (_, source) in enumerate(edges):
        node = position // 2
        if source >= 2:
            depth[node] = max(depth[node], depth[source - 2] + 1)
    return [*fractions, reach, (max(depth) - 1) / max(steps - 1, 1)]


class DartsSpace(UnitFeatureBox):
    """DARTS genotypes with ``steps`` intermediate nodes as a ``CellSpace``.

    Features (all in [0, 1]) per cell type: the fraction of each primitive among the cell's edges, the
    mean input position (input index over the number of inputs available to the node: 0 when every node
    reads the cell inputs, near 1 when nodes chain) and the normalised depth of the longest node chain.

    ``nearest`` cannot scan all genotypes, so it searches a pool: ``pool_size`` distinct genotypes sampled
    with ``numpy.random.default_rng(pool_seed)`` plus the published ones, in a KD-tree built on first use.
    The pool is a deterministic function of (steps, pool_size, pool_seed), so every process that builds
    the space sees the same pool. ``len(space)`` is the size of the whole space, not of the pool.
    """

    def __init__(self, steps: int = 4, pool_size: int = 4096, pool_seed: int = 0) -> None:
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if pool_size < 1:
            raise ValueError(f"pool_size must be >= 1, got {pool_size}")
        self.steps = steps
        self.pool_size = pool_size
        self.pool_seed = pool_seed
        self._pool: list[Genotype] | None = None
        self._tree: cKDTree | None = None

    @property
    def feature_names(self) -> tuple[str, ...]:
        names = []
        for cell in CELL_TYPES:
            names += [f"{cell}/frac_{op}" for op in PRIMITIVES] + [f"{cell}/input_reach", f"{cell}/depth"]
        return tuple(names)

    def __len__(self) -> int:
        inputs = 1
        for node in range(self.steps):
            inputs *= (node + 2) * (node + 1) // 2  # two distinct inputs out of node + 2
        return int((len(_OPERATIONS) ** (2 * self.steps) * inputs) ** 2)

    def _check(self, genotype: Genotype) -> Genotype:
        if genotype.steps != self.steps:
            raise ValueError(f"genotype has {genotype.steps} nodes per cell, the space has {self.steps}")
        return genotype

    def _sample_cell(self, rng: np.random.Generator) -> tuple[Edge, ...]:
        edges: list[Edge] = []
        for node in range(self.steps):
            sources = sorted(int(s) for s in rng.choice(node + 2, size=2, replace=False))
            edges += [(_OPERATIONS[int(rng.integers(len(_OPERATIONS)))], s) for s in sources]
        return tuple(edges)

    def sample(self, rng: np.random.Generator) -> Genotype:
        """A genotype with two distinct inputs per node and a uniform non-``none`` op on each edge."""
        concat = tuple(range(2, self.steps + 2))
        return Genotype(self._sample_cell(rng), concat, self._sample_cell(rng), concat)

    def features(self, cell: Genotype) -> FloatArray:
        genotype = self._check(cell)
        values = [*_cell_features(genotype.normal, self.steps), *_cell_features(genotype.reduce, self.steps)]
        return np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)

    def _ensure_pool(self) -> tuple[list[Genotype], cKDTree]:
        if self._pool is None or self._tree is None:
            rng = np.random.default_rng(self.pool_seed)
            pool: dict[Genotype, None] = {g: None for g in PUBLISHED.values() if g.steps == self.steps}
            attempts = 0
            while len(pool) < self.pool_size and attempts < 20 * self.pool_size:
                pool[self.sample(rng)] = None
                attempts += 1
            self._pool = list(pool)
            self._tree = cKDTree(np.stack([self.features(g) for g in self._pool]))
        return self._pool, self._tree

    def nearest(
        self, point: npt.ArrayLike, exclude: Iterable[Genotype] = (), rng: np.random.Generator | None = None
    ) -> Genotype:
        """The pooled genotype nearest to ``point`` (Euclidean), skipping ``exclude``; equally near ones:
        a uniform draw from ``rng`` when given, else the pool's order."""
        target = np.asarray(point, dtype=np.float64).reshape(-1)
        if target.shape != (self.dim,):
            raise ValueError(f"point must have {self.dim} entries, got {target.shape}")
        pool, tree = self._ensure_pool()
        excluded = set(exclude)
        k = min(len(pool), len(excluded) + 1)
        while True:
            distances, indices = tree.query(target, k=k)
            free = [
                (float(d), int(i))
                for d, i in zip(np.atleast_1d(distances), np.atleast_1d(indices), strict=True)
                if pool[int(i)] not in excluded
            ]
            # the last distance returned may tie with a genotype not returned: widen unless it is ruled out
            if free and (k == len(pool) or free[0][0] < float(np.atleast_1d(distances)[-1])):
                if rng is None:
                    return pool[free[0][1]]
                tied = [i for d, i in free if d <= free[0][0] + TIE_TOLERANCE]
                return pool[tied[int(rng.integers(len(tied)))]]
            if k == len(pool):
                raise ValueError("every genotype in the nearest-neighbour pool is excluded")
            k = min(len(pool), 2 * k)

    def encode(self, cell: Genotype) -> dict[str, Any]:
        return self._check(cell).to_json()

    def decode(self, obj: object) -> Genotype:
        if isinstance(obj, Genotype):
            return self._check(obj)
        if not isinstance(obj, Mapping | str):
            raise ValueError(f"cannot decode a genotype from {type(obj).__name__}")
        return self._check(genotype_from_json(obj))

    def to_graph(self, cell: Genotype) -> nx.DiGraph:
        graph = genotype_to_graph(self._check(cell))
        graph.graph["features"] = dict(zip(self.feature_names, self.features(cell).tolist(), strict=True))
        return graph

    def mutate(self, cell: Genotype, rng: np.random.Generator) -> Genotype:
        """Change one edge of one cell: its operation (to another non-``none`` op) or its input."""
        genotype = self._check(cell)
        cell_type = CELL_TYPES[int(rng.integers(2))]
        edges = list(genotype.cell(cell_type))
        position = int(rng.integers(len(edges)))
        op, source = edges[position]
        node = position // 2
        other = edges[position ^ 1][1]
        free_inputs = [s for s in range(node + 2) if s not in (source, other)]
        if free_inputs and rng.random() < 0.5:
            edges[position] = (op, int(free_inputs[int(rng.integers(len(free_inputs)))]))
        else:
            choices = [o for o in _OPERATIONS if o != op]
            edges[position] = (choices[int(rng.integers(len(choices)))], source)
        return _with_cell(genotype, cell_type, tuple(edges))

    def crossover(self, a: Genotype, b: Genotype, rng: np.random.Generator) -> Genotype:
        """Each node of each cell takes both of its edges from ``a`` or from ``b`` (so inputs stay valid)."""
        first, second = self._check(a), self._check(b)
        child = first
        for cell_type in CELL_TYPES:
            left, right = first.cell(cell_type), second.cell(cell_type)
            edges: list[Edge] = []
            for node in range(self.steps):
                parent = left if rng.random() < 0.5 else right
                edges += parent[2 * node : 2 * node + 2]
            child = _with_cell(child, cell_type, tuple(edges))
        return child


def _with_cell(genotype: Genotype, cell_type: str, edges: tuple[Edge, ...]) -> Genotype:
    if cell_type == "normal":
        return Genotype(edges, genotype.normal_concat, genotype.reduce, genotype.reduce_concat)
    return Genotype(genotype.normal, genotype.normal_concat, edges, genotype.reduce_concat)
