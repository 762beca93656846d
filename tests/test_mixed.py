"""The mixed-choice layer: modes, hard sampling computes one candidate, partial channels."""

from __future__ import annotations

import torch
from torch import nn

from hiernas.mixed import ChoiceMode, MixedChoice, channel_shuffle, mixing_weights


class Scale(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return x * self.factor


def test_softmax_mode_is_the_weighted_sum() -> None:
    logits = torch.tensor([0.0, 1.0, 2.0])
    layer = MixedChoice([Scale(1.0), Scale(2.0), Scale(3.0)])
    mixing = mixing_weights(logits, ChoiceMode.SOFTMAX)
    x = torch.ones(2, 4, 3, 3)
    expected = sum(w * f for w, f in zip(torch.softmax(logits, 0), [1.0, 2.0, 3.0], strict=True))
    assert torch.allclose(layer(x, mixing.weights, mixing.index), x * expected)
    assert all(c.calls == 1 for c in layer.candidates)


def test_hard_gumbel_computes_only_the_sampled_candidate_and_keeps_a_gradient() -> None:
    torch.manual_seed(0)
    logits = torch.zeros(4, requires_grad=True)
    layer = MixedChoice([Scale(float(i + 1)) for i in range(4)])
    mixing = mixing_weights(logits, "gumbel_hard", temperature=10.0)
    out = layer(torch.ones(1, 1, 2, 2), mixing.weights, mixing.index)
    assert sum(c.calls for c in layer.candidates) == 1
    assert layer.candidates[int(mixing.index)].calls == 1
    assert torch.equal(mixing.weights.detach(), nn.functional.one_hot(mixing.index, 4).float())
    out.sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_gumbel_samples_follow_the_logits() -> None:
    torch.manual_seed(1)
    logits = torch.tensor([0.0, 3.0, 0.0])
    picks = [int(mixing_weights(logits, "gumbel_hard", 10.0).index) for _ in range(400)]
    assert max(set(picks), key=picks.count) == 1


def test_partial_channels_pass_the_bypass_through_and_shuffle() -> None:
    layer = MixedChoice([Scale(0.0)], channel_fraction=4)
    x = torch.arange(8.0).view(1, 8, 1, 1)
    out = layer(x, torch.ones(1))
    assert out.shape == x.shape
    # the 2 active channels were zeroed by the op; the 6 bypassed ones survive, interleaved by the shuffle
    assert sorted(out.flatten().tolist()) == [0.0, 0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    shuffled = channel_shuffle(x, 4).flatten().tolist()
    assert shuffled == [0.0, 2.0, 4.0, 6.0, 1.0, 3.0, 5.0, 7.0]
