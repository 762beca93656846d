"""The architect: bilevel optimisation of network weights and architecture weights (DARTS).

Weights take a step on a batch of the weight split; architecture weights take a step on a batch of the
architecture split, either first order (gradient of the validation loss at the current weights) or
second order (DARTS eq. 7: at the unrolled weights w' = w - xi * grad_w L_train, with the mixed second
derivative replaced by a finite difference of two gradients).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hiernas.device import FLOAT32, Precision

Batch = tuple[Tensor, Tensor]


class SearchModel(Protocol):
    """What the architect needs of a searchable network (HyperNet, DARTS supernet)."""

    def arch_parameters(self) -> list[nn.Parameter]: ...

    def weight_parameters(self) -> list[nn.Parameter]: ...

    def __call__(self, x: Tensor) -> Tensor: ...

    def arch_penalty(self, step: int, total_steps: int) -> Tensor | float: ...


@dataclass(frozen=True)
class BilevelSettings:
    """How the two levels are stepped."""

    order: int = 1  # 1: first-order DARTS; 2: second order with the unrolled step
    unroll_lr: float | None = None  # xi of the unrolled step; None: the weight optimiser's lr
    unroll_weight_decay: float = 0.0  # weight decay included in the unrolled step
    hvp_epsilon: float = 0.01  # DARTS: eps = 0.01 / ||grad_w' L_val||
    grad_clip_norm: float | None = None  # DARTS: 5 (norm)
    grad_clip_value: float | None = None  # FaDE: 10 (absolute value)

    def __post_init__(self) -> None:
        if self.order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {self.order}")
        if self.hvp_epsilon <= 0:
            raise ValueError(f"hvp_epsilon must be > 0, got {self.hvp_epsilon}")


def classification_loss(model: SearchModel, batch: Batch) -> tuple[Tensor, Tensor]:
    """Cross-entropy of ``model`` on ``batch`` and the logits it produced."""
    x, y = batch
    logits = model(x)
    return F.cross_entropy(logits, y), logits


def arch_objective(model: SearchModel, batch: Batch) -> tuple[Tensor, float]:
    """What a first-order architecture step minimises on ``batch`` and the batch's loss.

    A model may define ``arch_objective(x, y)`` (e.g. ``HyperNet``'s score-function surrogate for hard
    Gumbel); otherwise it is the cross-entropy.
    """
    custom = getattr(model, "arch_objective", None)
    if custom is not None:
        objective, loss_value = custom(*batch)
        return objective, float(loss_value)
    loss, _ = classification_loss(model, batch)
    return loss, float(loss.item())


@contextmanager
def _same_noise(seed: int) -> Iterator[None]:
    """Re-seed torch's CPU (and current CUDA) generator so stochastic forwards repeat their noise."""
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _grads(loss: Tensor, params: list[nn.Parameter]) -> list[Tensor]:
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)]


def second_order_arch_grads(
    model: SearchModel,
    train_batch: Batch,
    val_batch: Batch,
    xi: float,
    weight_decay: float = 0.0,
    hvp_epsilon: float = 0.01,
    noise_seed: int | None = None,
) -> list[Tensor]:
    """DARTS eq. 7: grad_a L_val(w', a) - xi * (grad_a L_train(w+, a) - grad_a L_train(w-, a)) / (2 eps).

    ``w' = w - xi * (grad_w L_train(w, a) + weight_decay * w)``, ``w+- = w +- eps * grad_w' L_val(w', a)``
    and ``eps = hvp_epsilon / ||grad_w' L_val||``. The weights are restored before returning.
    """
    return _second_order(model, train_batch, val_batch, xi, weight_decay, hvp_epsilon, noise_seed)[0]


def _second_order(
    model: SearchModel,
    train_batch: Batch,
    val_batch: Batch,
    xi: float,
    weight_decay: float,
    hvp_epsilon: float,
    noise_seed: int | None,
) -> tuple[list[Tensor], float]:
    """``second_order_arch_grads`` and the validation loss at the unrolled weights it computed on the way."""
    weights = model.weight_parameters()
    alphas = model.arch_parameters()
    seed = int(torch.randint(0, 2**31 - 1, (1,)).item()) if noise_seed is None else noise_seed
    original = [w.detach().clone() for w in weights]
    try:
        with _same_noise(seed):
            train_loss, _ = classification_loss(model, train_batch)
        w_grads = _grads(train_loss, weights)
        with torch.no_grad():
            for w, g in zip(weights, w_grads, strict=True):
                w.sub_(xi * (g + weight_decay * w))
        with _same_noise(seed + 1):
            val_loss, _ = classification_loss(model, val_batch)
        val_grads = _grads(val_loss, alphas + weights)
        alpha_grads, unrolled_grads = val_grads[: len(alphas)], val_grads[len(alphas):]
        norm = torch.sqrt(sum((g * g).sum() for g in unrolled_grads))  # type: ignore[arg-type]
        eps = hvp_epsilon / float(norm.clamp_min(1e-12))

        def alpha_grad_at(sign: float) -> list[Tensor]:
            with torch.no_grad():
                for w, w0, g in zip(weights, original, unrolled_grads, strict=True):
                    w.copy_(w0 + sign * eps * g)
            with _same_noise(seed):
                loss, _ = classification_loss(model, train_batch)
            return _grads(loss, alphas)

        plus, minus = alpha_grad_at(1.0), alpha_grad_at(-1.0)
        grads = [g - xi * (gp - gm) / (2 * eps) for g, gp, gm in zip(alpha_grads, plus, minus, strict=True)]
        return grads, float(val_loss.item())
    finally:
        with torch.no_grad():
            for w, w0 in zip(weights, original, strict=True):
                w.copy_(w0)


class Architect:
    """Alternates weight steps and architecture steps on a ``SearchModel``."""

    def __init__(
        self,
        model: SearchModel,
        weight_optimizer: torch.optim.Optimizer,
        arch_optimizer: torch.optim.Optimizer | None,
        settings: BilevelSettings | None = None,
        precision: Precision = FLOAT32,
    ) -> None:
        self.model = model
        self.weight_optimizer = weight_optimizer
        self.arch_optimizer = arch_optimizer
        self.settings = settings or BilevelSettings()
        self.precision = precision

    def _clip(self, params: list[nn.Parameter]) -> None:
        if self.settings.grad_clip_value is not None:
            nn.utils.clip_grad_value_(params, self.settings.grad_clip_value)
        if self.settings.grad_clip_norm is not None:
            nn.utils.clip_grad_norm_(params, self.settings.grad_clip_norm)

    def weight_step(self, batch: Batch) -> tuple[float, float]:
        """One optimiser step of the weights on ``batch``; returns (loss, accuracy)."""
        weights = self.model.weight_parameters()
        self.weight_optimizer.zero_grad(set_to_none=True)
        scaler = self.precision.scaler
        with self.precision.autocast():
            loss, logits = classification_loss(self.model, batch)
        scaler.scale(loss).backward()
        for alpha in self.model.arch_parameters():
            alpha.grad = None  # the weight step never moves alpha
        scaler.unscale_(self.weight_optimizer)  # clip the true gradients (no-op without fp16)
        self._clip(weights)
        scaler.step(self.weight_optimizer)
        scaler.update()
        accuracy = (logits.argmax(dim=1) == batch[1]).float().mean().item()
        return loss.item(), accuracy

    def arch_step(self, train_batch: Batch, val_batch: Batch, step: int = 0, total_steps: int = 1) -> float:
        """One optimiser step of the architecture weights on ``val_batch``; returns the validation loss."""
        if self.arch_optimizer is None:
            raise RuntimeError("arch_step called without an architecture optimiser")
        alphas = self.model.arch_parameters()
        self.arch_optimizer.zero_grad(set_to_none=True)
        if self.settings.order == 2:
            xi = self.settings.unroll_lr
            if xi is None:
                xi = float(self.weight_optimizer.param_groups[0]["lr"])
            # the reported loss is the one at the unrolled weights: no extra forward pass for it
            grads, loss_value = _second_order(
                self.model, train_batch, val_batch, xi,
                self.settings.unroll_weight_decay, self.settings.hvp_epsilon, None,
            )
            penalty = self.model.arch_penalty(step, total_steps)
            if isinstance(penalty, Tensor) and penalty.requires_grad:
                grads = [g + pg for g, pg in zip(grads, _grads(penalty, alphas), strict=True)]
        else:
            with self.precision.autocast():
                objective, loss_value = arch_objective(self.model, val_batch)
            grads = _grads(objective.float() + self.model.arch_penalty(step, total_steps), alphas)
        for alpha, g in zip(alphas, grads, strict=True):
            alpha.grad = g
        self.arch_optimizer.step()
        return loss_value
