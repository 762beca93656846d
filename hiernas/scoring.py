"""Mean cross-entropy and accuracy of a forward function over a data set: the one scoring loop of every
trainer (hyper-architectures, cell-level DARTS search, genotype training); ``evaluate``, the same for a
module in eval mode or with batch statistics; and ``kept_buffers``, which lets a scoring with batch
statistics leave the running statistics as they were."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from hiernas.splits import eval_batches


def evaluate_model(
    forward: Callable[[Tensor], Tensor],
    dataset: TensorDataset,
    batch_size: int,
    device: torch.device,
    max_batches: int | None = None,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``forward`` on ``dataset`` (its first ``max_batches`` batches)."""
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for i, (x, y) in enumerate(eval_batches(dataset, batch_size)):
            if max_batches is not None and i >= max_batches:
                break
            x, y = x.to(device), y.to(device)
            logits = forward(x)  # (B, num_classes)
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).sum().item())
            count += len(y)
    return total_loss / max(count, 1), correct / max(count, 1)


def evaluate(
    model: nn.Module,
    dataset: TensorDataset,
    batch_size: int,
    device: torch.device,
    forward: Callable[[Tensor], Tensor] | None = None,
    batch_stats: bool = False,
) -> tuple[float, float]:
    """Mean loss and accuracy of ``forward`` (default: the model) on ``dataset``.

    ``batch_stats`` evaluates with BatchNorm batch statistics (train mode; the running statistics are put
    back afterwards), which is how shared-weight paths are scored: running statistics mix all paths'
    activations.
    """
    was_training = model.training
    model.train(batch_stats)
    try:
        with kept_buffers(model):
            return evaluate_model(forward or model, dataset, batch_size, device)
    finally:
        model.train(was_training)


@contextmanager
def kept_buffers(model: nn.Module) -> Iterator[None]:
    """Run the body and put every buffer (BatchNorm running statistics) back as it was: scoring with batch
    statistics (train mode) would otherwise overwrite them with those of the scored paths or mixtures."""
    saved = {name: buffer.clone() for name, buffer in model.named_buffers()}
    try:
        yield
    finally:
        with torch.no_grad():
            for name, buffer in model.named_buffers():
                buffer.copy_(saved[name])
