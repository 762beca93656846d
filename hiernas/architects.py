"""Architecture steps of the sampling methods, as ``hiernas.bilevel.Architect`` subclasses.

- ``ProxylessArchitect`` (ProxylessNAS, Cai et al. 2019): the weight step computes one sampled path per
  choice (``binary`` mode); the architecture step samples two paths per choice, takes the gradients of their
  binary gates (``binary_pair`` mode: alpha reaches the loss through the softmax of the two only), steps,
  and then rescales the two sampled logits so that their total probability is what it was. The logits of the
  paths not sampled are restored, so their probabilities do not change (an optimiser with momentum or
  weight decay would move them otherwise).
- ``ParsecArchitect`` (PARSEC, Casale et al. 2019): alpha is the logit of a categorical prior
  ``p(arch | pi)`` per choice. The weight step trains one child sampled from the prior (``sample`` mode:
  the memory of one child). The architecture step draws ``samples`` children, scores each on the validation
  batch without a gradient through the network, and follows the Monte Carlo estimate of the gradient of
  the marginal likelihood: ``sum_k w_k grad_pi log p(arch_k | pi)`` with ``w_k`` the self-normalised
  likelihood of the batch under child ``k`` (``softmax_k(-B * loss_k)``, B the batch size).
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

from hiernas.bilevel import Architect, Batch, SearchModel
from hiernas.device import FLOAT32, Precision
from hiernas.mixed import ChoiceMode


class SamplingModel(SearchModel, Protocol):
    """A search model whose mixing mode can be switched and which tells what its last forward sampled."""

    mode: ChoiceMode

    def sampled_masks(self) -> list[Tensor | None]: ...


def rescale_sampled(alpha: Tensor, before: Tensor, sampled: Tensor) -> None:
    """In place: logits off ``sampled`` back to ``before``; the sampled ones shifted per choice so that their
    log-sum-exp equals its value ``before`` (ProxylessNAS: the unsampled paths keep their probabilities)."""
    with torch.no_grad():
        alpha.copy_(torch.where(sampled, alpha, before))
        new = torch.logsumexp(alpha.masked_fill(~sampled, float("-inf")), dim=-1, keepdim=True)
        old = torch.logsumexp(before.masked_fill(~sampled, float("-inf")), dim=-1, keepdim=True)
        alpha.sub_((new - old) * sampled.to(alpha.dtype))


class ProxylessArchitect(Architect):
    """ProxylessNAS' two-path architecture step with rescaling (first order)."""

    model: SamplingModel

    def arch_step(self, train_batch: Batch, val_batch: Batch, step: int = 0, total_steps: int = 1) -> float:
        alphas = self.model.arch_parameters()
        before = [alpha.detach().clone() for alpha in alphas]
        weight_mode = self.model.mode
        self.model.mode = ChoiceMode.BINARY_PAIR
        try:
            loss = super().arch_step(train_batch, val_batch, step, total_steps)
        finally:
            self.model.mode = weight_mode
        for alpha, old, sampled in zip(alphas, before, self.model.sampled_masks(), strict=True):
            if sampled is not None:
                rescale_sampled(alpha, old, sampled)
        return loss


class ParsecArchitect(Architect):
    """PARSEC's empirical-Bayes step on the prior logits from ``samples`` children per step."""

    model: SamplingModel

    def __init__(
        self,
        model: SamplingModel,
        weight_optimizer: torch.optim.Optimizer,
        arch_optimizer: torch.optim.Optimizer | None,
        samples: int,
        precision: Precision = FLOAT32,
    ) -> None:
        super().__init__(model, weight_optimizer, arch_optimizer, precision=precision)
        if samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        self.samples = samples

    def arch_step(self, train_batch: Batch, val_batch: Batch, step: int = 0, total_steps: int = 1) -> float:
        if self.arch_optimizer is None:
            raise RuntimeError("arch_step called without an architecture optimiser")
        x, y = val_batch
        losses, children = [], []
        with torch.no_grad(), self.precision.autocast():
            for _ in range(self.samples):
                losses.append(F.cross_entropy(self.model(x), y).float())
                children.append(self.model.sampled_masks())
        loss = torch.stack(losses)  # (K,)
        weights = F.softmax(-len(y) * loss, dim=0)  # (K,): self-normalised likelihood of the batch per child
        alphas = self.model.arch_parameters()
        log_prior = [
            sum(
                (F.log_softmax(alpha, dim=-1) * mask).sum()
                for alpha, mask in zip(alphas, child, strict=True)
                if mask is not None
            )
            for child in children
        ]  # K x (): log p(child | pi)
        objective = -sum(w * lp for w, lp in zip(weights, log_prior, strict=True))
        self.arch_optimizer.zero_grad(set_to_none=True)
        grads = torch.autograd.grad(objective, alphas, allow_unused=True)
        for alpha, grad in zip(alphas, grads, strict=True):
            alpha.grad = torch.zeros_like(alpha) if grad is None else grad
        self.arch_optimizer.step()
        return float(loss.mean())

