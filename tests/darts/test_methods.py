"""The method modes of the supernet: second-order gradient, PC-DARTS degeneracy, GDAS single path."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.func import functional_call

from hiernas.bilevel import second_order_arch_grads
from hiernas.darts.search_network import SearchNetwork
from hiernas.mixed import MixedChoice


def _tiny(**kwargs) -> SearchNetwork:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    return SearchNetwork(3, 4, channels=4, layers=3, steps=2, init_scale=0.5, **kwargs)


def _cosine(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    u, v = torch.cat([t.flatten() for t in a]), torch.cat([t.flatten() for t in b])
    return float(u @ v / (u.norm() * v.norm()))


def _smooth(model: SearchNetwork) -> SearchNetwork:
    """Swap every ReLU for SiLU: eq. 7's finite difference assumes a twice-differentiable loss."""
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, torch.nn.ReLU):
                setattr(module, name, torch.nn.SiLU())
    return model


def test_second_order_gradient_matches_exact_hypergradient() -> None:
    # On ReLU / max-pool networks grad_alpha L jumps at activation kinks, and a step of 0.01 along
    # grad_w' L_val crosses many of them, so the finite difference is not the almost-everywhere Hessian
    # (cosine 0.2-0.5 on this tiny net). On a smooth network it must match double back-propagation.
    primitives = ("none", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "dil_conv_3x3")
    model = _smooth(_tiny(primitives=primitives)).double()
    gen = torch.Generator().manual_seed(1)
    train = (
        torch.randn(6, 3, 6, 6, generator=gen, dtype=torch.float64),
        torch.randint(0, 4, (6,), generator=gen),
    )
    val = (
        torch.randn(6, 3, 6, 6, generator=gen, dtype=torch.float64),
        torch.randint(0, 4, (6,), generator=gen),
    )
    xi, decay = 0.5, 3e-4
    approx = second_order_arch_grads(model, train, val, xi, decay, hvp_epsilon=0.01)

    # exact d/d(alpha) L_val(w'(alpha), alpha) with w' = w - xi * (grad_w L_train + decay * w), by autograd
    names = [n for n, _ in model.named_parameters() if not n.startswith(("alpha_", "beta_"))]
    weights = [p for n, p in model.named_parameters() if n in names]
    train_loss = F.cross_entropy(model(train[0]), train[1])
    grads = torch.autograd.grad(train_loss, weights, create_graph=True)
    unrolled = {n: w - xi * (g + decay * w) for n, w, g in zip(names, weights, grads, strict=True)}
    params = {**unrolled, "alpha_normal": model.alpha_normal, "alpha_reduce": model.alpha_reduce}
    val_loss = F.cross_entropy(functional_call(model, params, (val[0],)), val[1])
    exact = list(torch.autograd.grad(val_loss, model.arch_parameters()))
    assert _cosine(approx, exact) >= 0.99

    # the second-order term matters here: the first-order gradient at w' alone is measurably different
    with torch.no_grad():
        for w, n in zip(weights, names, strict=True):
            w.copy_(unrolled[n].detach())
    plain = torch.autograd.grad(F.cross_entropy(model(val[0]), val[1]), model.arch_parameters())
    difference = math.sqrt(sum(float((e - p).pow(2).sum()) for e, p in zip(exact, plain, strict=True)))
    assert difference > 1e-3 * math.sqrt(sum(float(e.pow(2).sum()) for e in exact))


def test_pcdarts_with_k1_and_no_beta_is_darts() -> None:
    darts, pc = _tiny(), _tiny(channel_fraction=1)
    pc.load_state_dict(darts.state_dict())
    x = torch.randn(4, 3, 8, 8)
    torch.testing.assert_close(pc(x), darts(x))


def test_pcdarts_with_k1_and_uniform_beta_is_darts_with_edge_weights_in_alpha() -> None:
    # uniform beta weighs each of a node's n inputs by 1/n; DARTS gives the same output when alpha puts
    # that factor on the real ops and the remaining mass on ``none`` (which outputs zeros)
    darts = _tiny()
    pc = _tiny(channel_fraction=1, edge_norm=True)
    pc.load_state_dict(darts.state_dict(), strict=False)
    with torch.no_grad():
        pc.beta_normal.zero_()
        pc.beta_reduce.zero_()
        fan_in = torch.tensor([n + 2 for n in range(2) for _ in range(n + 2)], dtype=torch.float32)  # (E,)
        for name in ("alpha_normal", "alpha_reduce"):
            w = F.softmax(getattr(pc, name), -1) / fan_in.unsqueeze(1)  # (E, n_ops)
            w[:, 0] += 1 - 1 / fan_in
            getattr(darts, name).copy_(w.log())
    x = torch.randn(4, 3, 8, 8)
    torch.testing.assert_close(pc(x), darts(x), rtol=1e-4, atol=1e-5)


def test_pcdarts_partial_channels_shrink_the_ops() -> None:
    full, partial = _tiny(), _tiny(channel_fraction=4, edge_norm=True)
    count = lambda m: sum(p.numel() for p in m.weight_parameters())  # noqa: E731
    assert count(partial) < count(full) / 2
    assert partial(torch.randn(2, 3, 7, 7)).shape == (2, 4)  # odd sizes: bypass pooled with ceil_mode
    assert len(partial.arch_parameters()) == 4


def _count_op_calls(model: SearchNetwork) -> list[int]:
    counts: list[int] = []
    for module in model.modules():
        if isinstance(module, MixedChoice):
            slot = len(counts)
            counts.append(0)
            for op in module.candidates:
                op.register_forward_hook(lambda *_a, s=slot: counts.__setitem__(s, counts[s] + 1))
    return counts


def test_gdas_computes_one_operation_per_edge() -> None:
    model = _tiny(mode="gumbel_hard", temperature=10.0)
    counts = _count_op_calls(model)
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    assert counts and all(c == 1 for c in counts)
    assert all(a.grad is not None and a.grad.abs().sum() > 0 for a in model.arch_parameters())
    softmax = _tiny()
    counts = _count_op_calls(softmax)
    softmax(torch.randn(2, 3, 8, 8))
    assert all(c == len(softmax.primitives) for c in counts)
