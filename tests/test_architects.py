"""The survey's sampling methods: ProxylessNAS' one-path weight step and two-path architecture step that
leaves the unsampled paths' probabilities unchanged, PARSEC's prior samples and Monte Carlo step, DropNAS'
grouped dropout (dropped operations get no gradient, every edge keeps one), in both spaces."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from torch import nn

from hiernas.architects import ParsecArchitect, ProxylessArchitect, rescale_sampled
from hiernas.bilevel import BilevelSettings
from hiernas.darts.search_network import SearchNetwork
from hiernas.mixed import ChoiceMode, MixedChoice, drop_mask, mixing_weights
from hiernas.nb201.search_network import Nb201SearchNetwork
from hiernas.supernet import ChoiceMixin
from spaces.darts import PRIMITIVES
from spaces.nb201 import OPS

SPACES = ["darts", "nb201"]
Network = SearchNetwork | Nb201SearchNetwork


def _network(space: str, **kwargs) -> Network:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    if space == "nb201":
        return Nb201SearchNetwork(3, 4, channels=4, cells_per_stage=1, init_scale=0.5, **kwargs)
    return SearchNetwork(3, 4, channels=4, layers=3, steps=2, init_scale=0.5, **kwargs)


def _batch(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(6, 3, 8, 8, generator=gen), torch.randint(0, 4, (6,), generator=gen)


def _edges(model: nn.Module) -> list[MixedChoice]:
    return [m for m in model.modules() if isinstance(m, MixedChoice)]


def _count_calls(model: nn.Module) -> dict[int, list[int]]:
    """Per edge (by id), how often each candidate runs: forward hooks on every candidate module."""
    calls: dict[int, list[int]] = {}
    for edge in _edges(model):
        counts = calls[id(edge)] = [0] * len(edge)
        for k, op in enumerate(edge.candidates):
            op.register_forward_hook(lambda *_, counts=counts, k=k: counts.__setitem__(k, counts[k] + 1))
    return calls


@pytest.mark.parametrize("space", SPACES)
def test_proxyless_weight_step_computes_one_path_per_edge(space: str) -> None:
    model = _network(space, mode=ChoiceMode.BINARY)
    calls = _count_calls(model)
    loss = F.cross_entropy(model(_batch()[0]), _batch()[1])
    assert all(sum(counts) == 1 for counts in calls.values())  # one operation's activations per edge
    loss.backward()
    assert all(a.grad is not None and a.grad.abs().sum() > 0 for a in model.arch_parameters())


@pytest.mark.parametrize("space", SPACES)
def test_proxyless_arch_step_moves_two_paths_and_keeps_the_others_probabilities(space: str) -> None:
    model = _network(space, mode=ChoiceMode.BINARY)
    weight_opt = torch.optim.SGD(model.weight_parameters(), lr=0.1)
    arch_opt = torch.optim.Adam(model.arch_parameters(), lr=0.1, betas=(0.0, 0.999), weight_decay=1e-3)
    architect = ProxylessArchitect(model, weight_opt, arch_opt, BilevelSettings())
    for step in range(3):  # Adam's moments are non-zero for every entry after the first step
        before = [a.detach().clone() for a in model.arch_parameters()]
        calls = _count_calls(model) if step == 2 else None
        architect.arch_step(_batch(step), _batch(step + 10))
        assert model.mode is ChoiceMode.BINARY  # the weight step's mode is back
        if calls is not None:
            assert all(sum(counts) == 2 for counts in calls.values())  # two paths per edge in the arch step
        for alpha, old, sampled in zip(model.arch_parameters(), before, model.sampled_masks(), strict=True):
            assert sampled is not None and (sampled.sum(-1) == 2).all()
            p_old, p_new = F.softmax(old, -1), F.softmax(alpha.detach(), -1)
            assert torch.allclose(p_new[~sampled], p_old[~sampled], atol=1e-6)  # unsampled: unchanged
            assert torch.allclose(p_new[sampled].sum(), p_old[sampled].sum(), atol=1e-5)
            assert (alpha.detach() - old)[sampled].abs().max() > 1e-4  # the sampled pair did move


def test_rescale_restores_the_unsampled_logits_and_the_pairs_mass() -> None:
    before = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
    after = torch.tensor([[0.5, 1.5, 1.0, 2.9]])  # an optimiser moved every entry
    sampled = torch.tensor([[False, True, True, False]])
    rescale_sampled(after, before, sampled)
    assert after[0, 0] == 0.0 and after[0, 3] == pytest.approx(3.0)
    assert torch.logsumexp(after[sampled], 0) == pytest.approx(float(torch.logsumexp(before[sampled], 0)))
    assert after[0, 1] - after[0, 2] == pytest.approx(0.5)  # the step's preference between the two is kept


def test_parsec_samples_follow_the_prior() -> None:
    probs = torch.tensor([0.5, 0.25, 0.15, 0.07, 0.03])
    logits = probs.log().expand(6, 5).clone()  # six choices, one prior
    gen = torch.Generator().manual_seed(7)
    counts = torch.zeros(5)
    draws = 2000
    for _ in range(draws):
        mixing = mixing_weights(logits, ChoiceMode.SAMPLE, generator=gen)
        assert mixing.index is not None and not mixing.weights.requires_grad
        counts += F.one_hot(mixing.index, 5).sum(0)
    expected = probs * draws * 6
    chi2 = stats.chisquare(counts.numpy(), expected.numpy())
    assert chi2.pvalue > 0.001, (counts.tolist(), expected.tolist())
    assert torch.allclose(counts / counts.sum(), probs, atol=0.01)


@pytest.mark.parametrize("space", SPACES)
def test_parsec_step_raises_the_prior_of_the_likelier_children(space: str) -> None:
    model = _network(space, mode=ChoiceMode.SAMPLE)
    arch_opt = torch.optim.SGD(model.arch_parameters(), lr=1.0)
    architect = ParsecArchitect(model, torch.optim.SGD(model.weight_parameters(), lr=0.1), arch_opt, samples=1)
    before = [a.detach().clone() for a in model.arch_parameters()]
    calls = _count_calls(model)
    architect.arch_step(_batch(), _batch(2))
    assert all(sum(counts) == 1 for counts in calls.values())  # one child: one operation per edge
    for alpha, old, child in zip(model.arch_parameters(), before, model.sampled_masks(), strict=True):
        assert child is not None
        # one sample: weight 1, the step is + lr * grad log p(child): the child's logits rise, the rest fall
        expected = old + (child.float() - F.softmax(old, -1))
        assert torch.allclose(alpha.detach(), expected, atol=1e-5)


def test_drop_mask_keeps_one_per_choice_and_drops_at_the_given_rate() -> None:
    gen = torch.Generator().manual_seed(3)
    prob = torch.tensor([0.1, 0.1, 0.6, 0.6, 0.6])
    masks = torch.stack([drop_mask(prob, torch.Size([6, 5]), gen) for _ in range(2000)])  # (2000, 6, 5)
    assert masks.any(-1).all()  # every choice keeps at least one candidate
    kept = masks.float().mean(dim=(0, 1))
    assert torch.allclose(kept, torch.tensor([0.9, 0.9, 0.4, 0.4, 0.4]), atol=0.02)
    all_dropped = torch.stack([drop_mask(torch.ones(5), torch.Size([6, 5]), gen) for _ in range(50)])
    assert (all_dropped.sum(-1) == 1).all()  # nothing survives the draw: exactly one is kept


@pytest.mark.parametrize("space", SPACES)
def test_dropnas_dropped_operations_get_no_gradient(space: str) -> None:
    primitives = OPS if space == "nb201" else PRIMITIVES
    model = _network(space, mode=ChoiceMode.DROPOUT, drop_prob=dict.fromkeys(primitives, 0.5))
    calls = _count_calls(model)
    F.cross_entropy(model(_batch()[0]), _batch()[1]).backward()
    (mask, *_) = model.sampled_masks()
    assert mask is not None and mask.any(-1).all() and not mask.all()
    checked = 0
    for edge in _edges(model):
        row = [counts > 0 for counts in calls[id(edge)]]
        for k, op in enumerate(edge.candidates):
            for p in op.parameters():
                if not row[k]:
                    assert p.grad is None or p.grad.abs().sum() == 0  # dropped: no gradient at all
                    checked += 1
                else:
                    assert p.grad is not None
    assert checked > 0
    model.eval()  # evaluation runs every operation: dropout is for training only
    model(_batch()[0])
    assert all(mask is None or mask.all() for mask in model.sampled_masks())


def test_choice_mixin_finds_architecture_parameters_in_registration_order() -> None:
    model = _network("darts", edge_norm=True)
    assert isinstance(model, ChoiceMixin)
    names = [n for n, p in model.named_parameters() if any(p is a for a in model.arch_parameters())]
    assert names == ["alpha_normal", "alpha_reduce", "beta_normal", "beta_reduce"]
    assert math.isclose(sum(p.numel() for p in model.weight_parameters()) + 2 * 5 * 8 + 2 * 5,
                        sum(p.numel() for p in model.parameters()))
