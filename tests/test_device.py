"""Device placement and precision: batches drawn on the data's device, mixed precision only on CUDA,
peak memory reported (CPU: peak RSS)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from hiernas.device import Precision, check_amp, peak_memory_mb
from hiernas.splits import TensorBatches, concat


def _dataset(n: int) -> TensorDataset:
    return TensorDataset(torch.arange(n, dtype=torch.float32).view(n, 1), torch.arange(n))


def test_batches_cover_every_sample_once_per_pass_in_a_seeded_order() -> None:
    batches = TensorBatches(_dataset(103), 10, seed=3)
    first, second = [y.tolist() for _, y in batches], [y.tolist() for _, y in batches]
    assert sorted(sum(first, [])) == list(range(103)) and first != second  # reshuffled every pass
    again = [y.tolist() for _, y in TensorBatches(_dataset(103), 10, seed=3)]
    assert again == first and len(batches) == 11
    assert [len(y) for _, y in TensorBatches(_dataset(21), 10, seed=0)] == [10, 10]  # a 1-sample tail dropped


def test_concat_and_splits_keep_values() -> None:
    joined = concat(_dataset(3), _dataset(2))
    assert joined.tensors[1].tolist() == [0, 1, 2, 0, 1]


def test_mixed_precision_is_cuda_only() -> None:
    for mode in ("off", "bf16", "fp16"):
        precision = Precision(mode, torch.device("cpu"))
        assert not precision.active and precision.parts() == {} and not precision.scaler.is_enabled()
        with precision.autocast():
            assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == torch.float32
    with pytest.raises(ValueError, match="amp"):
        check_amp("fp8")


def test_peak_memory_is_reported_in_mib() -> None:
    assert 10 < peak_memory_mb(torch.device("cpu")) < 64 * 2**10
