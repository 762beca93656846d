"""Mean cross-entropy and accuracy of a forward function over a data set: the one scoring loop of every
trainer (hyper-architectures, cell-level DARTS search, genotype training)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor
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
