"""Derivation from hand-set weights, DARTS-PD pruning, path-wise strict fairness and evolution."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from hiernas.darts.derive import (
    Candidate,
    evolve_paths,
    select_tradeoff,
    soft_prune,
)
from hiernas.darts.search_network import SearchNetwork
from hiernas.darts.skeleton import edge_index
from hiernas.datasets import make_synthetic
from hiernas.fairness import fair_schedule, fair_train_steps
from hiernas.splits import infinite_batches, make_loader
from spaces.darts import PRIMITIVES, Genotype

OP = {name: i for i, name in enumerate(PRIMITIVES)}


def _hand_set(steps: int = 2) -> np.ndarray:
    weights = np.full((sum(i + 2 for i in range(steps)), len(PRIMITIVES)), 0.01)
    weights[:, OP["none"]] = 0.9  # `none` is the strongest everywhere and must never be picked
    weights[edge_index(0, 1), OP["sep_conv_3x3"]] = 0.5
    weights[edge_index(0, 0), OP["max_pool_3x3"]] = 0.3
    weights[edge_index(1, 2), OP["dil_conv_5x5"]] = 0.6
    weights[edge_index(1, 0), OP["skip_connect"]] = 0.4
    weights[edge_index(1, 1), OP["avg_pool_3x3"]] = 0.2
    return weights


def test_derivation_picks_the_two_strongest_edges_without_none() -> None:
    net = SearchNetwork(3, 4, channels=4, layers=3, steps=2)
    with torch.no_grad():
        net.alpha_normal.copy_(torch.tensor(np.log(_hand_set()), dtype=torch.float32))
        net.alpha_reduce.copy_(torch.tensor(np.log(_hand_set()), dtype=torch.float32))
    genotype = net.genotype()
    expected = (("max_pool_3x3", 0), ("sep_conv_3x3", 1), ("skip_connect", 0), ("dil_conv_5x5", 2))
    assert genotype.normal == expected and genotype.reduce == expected
    assert genotype.normal_concat == (2, 3)


def test_pcdarts_edge_weights_change_the_chosen_edges() -> None:
    net = SearchNetwork(3, 4, channels=4, layers=3, steps=2, channel_fraction=2, edge_norm=True)
    with torch.no_grad():
        net.alpha_normal.copy_(torch.tensor(np.log(_hand_set()), dtype=torch.float32))
        net.beta_normal.zero_()
        net.beta_normal[edge_index(1, 1)] = 3.0  # beta makes the weak avg_pool edge of node 1 the strongest
    assert ("avg_pool_3x3", 1) in net.genotype().normal[2:]


def test_soft_prune_keeps_top_k_non_none_ops_on_the_derived_edges() -> None:
    pruned = soft_prune(_hand_set(), _hand_set(), steps=2, k=2)
    assert pruned.sources["normal"] == (0, 1, 0, 2)
    assert pruned.kept["normal"][1][0] == "sep_conv_3x3" and "none" not in sum(pruned.kept["normal"], ())
    assert len(pruned.slots) == 8 and pruned.k == 2
    assert pruned.genotype([0] * 8).normal == (
        ("max_pool_3x3", 0),
        ("sep_conv_3x3", 1),
        ("skip_connect", 0),
        ("dil_conv_5x5", 2),
    )


def test_every_step_uses_each_kept_op_once_and_every_path_equally_often() -> None:
    num_choices, k = 4, 3
    groups = fair_schedule(num_choices, k, steps=2 * k ** (num_choices - 1), rng=np.random.default_rng(0))
    counts: Counter[tuple[int, ...]] = Counter()
    for group in groups:
        for slot in range(num_choices):
            assert sorted(path[slot] for path in group) == list(range(k))  # FairNAS per step
        counts.update(group)
    assert len(counts) == k**num_choices and set(counts.values()) == {2}
    short = fair_schedule(16, 2, steps=50, rng=np.random.default_rng(0))  # shorter than a cycle
    assert len(short) == 50 and set(Counter(p for g in short for p in g).values()) == {1}


def test_fair_training_updates_every_path_of_the_pruned_supernet_equally() -> None:
    torch.manual_seed(0)
    net = SearchNetwork(3, 4, channels=4, layers=3, steps=1)  # 2 slots per cell: 4 choices, 16 paths
    pruned = soft_prune(
        np.random.default_rng(0).random((2, 8)), np.random.default_rng(1).random((2, 8)), 1, k=2
    )
    groups = fair_schedule(len(pruned.slots), pruned.k, steps=16, rng=np.random.default_rng(0))
    data = make_synthetic(32, (3, 8, 8), 4)
    dataset = torch.utils.data.TensorDataset(data.images, data.labels)
    batches = infinite_batches(make_loader(dataset, 8, seed=0))
    optimizer = torch.optim.SGD(net.weight_parameters(), lr=0.01)
    counts: dict[tuple[int, ...], int] = {}
    before = [p.detach().clone() for p in net.weight_parameters()]
    steps_taken = Counter[str]()
    optimizer.register_step_post_hook(lambda *_: steps_taken.update(["step"]))
    loss = fair_train_steps(
        lambda x, path: net.forward_genotype(x, pruned.genotype(path)), groups, batches, optimizer,
        torch.device("cpu"), clip=lambda: torch.nn.utils.clip_grad_norm_(net.weight_parameters(), 5.0),
        update_counts=counts,
    )
    assert np.isfinite(loss) and steps_taken["step"] == len(groups) == 16
    assert len(counts) == 2**4 and set(counts.values()) == {2}
    assert any(not torch.equal(a, b) for a, b in zip(before, net.weight_parameters(), strict=True))


def _genotype(op: str) -> Genotype:
    cell = ((op, 0), (op, 1))
    return Genotype(cell, (2,), cell, (2,))


def test_tradeoff_selection_spreads_sizes_and_keeps_the_best() -> None:
    candidates = [
        Candidate((i,), _genotype("skip_connect"), acc, size)
        for i, (acc, size) in enumerate([(0.5, 10), (0.6, 20), (0.55, 30), (0.7, 40), (0.65, 50), (0.8, 60)])
    ]
    chosen = select_tradeoff(candidates, 3)
    assert chosen[0].val_acc == 0.8 and len({c.params for c in chosen}) == 3
    assert all(c.params in (10, 20, 40, 60) for c in chosen)  # all on the Pareto front


def test_evolution_is_seeded_and_scores_each_path_once() -> None:
    pruned = soft_prune(_hand_set(), _hand_set(), steps=2, k=2)
    calls: Counter[Genotype] = Counter()

    def score(g: Genotype) -> float:
        calls[g] += 1
        return sum(op.startswith("sep") for op, _ in g.normal + g.reduce) / 8

    def run(seed: int) -> list[Candidate]:
        return evolve_paths(
            pruned, score, lambda g: len(set(g.normal)), 6, 3, 3, np.random.default_rng(seed)
        ).selected

    first = run(0)
    assert first == run(0) and max(calls.values()) == 2  # once per run
    assert first[0].val_acc == max(c.val_acc for c in first)
