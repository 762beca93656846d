"""What a step holds in memory: the activations autograd saves for backward (CPU), or CUDA's allocator peak.

The benchmarks compare the DARTS-family methods by what they shrink: the saved activations. On the CPU
there is no allocator peak to read, so the storages autograd packs for backward are tracked while a step
runs (each distinct storage once, released when its graph frees it); on CUDA the allocator's peak is read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import torch


class SavedBytes:
    """The bytes of the distinct storages autograd holds for backward while the context is open, and their peak.

    A saved tensor is packed into a holder; the graph drops the holder when it frees the tensor (after its
    backward), so the live total follows the graphs as they are built and freed and the peak is that of the
    largest graph (or of graphs alive together). ``exclude``: storages not counted (the parameters).
    """

    def __init__(self, exclude: set[int]) -> None:
        self.exclude = exclude
        self.refs: Counter[int] = Counter()
        self.sizes: dict[int, int] = {}
        self.live = 0
        self.peak = 0

    def pack(self, tensor: torch.Tensor) -> Any:
        storage = tensor.untyped_storage()
        ptr = storage.data_ptr()
        if ptr in self.exclude:
            return tensor
        if self.refs[ptr] == 0:
            self.sizes[ptr] = storage.nbytes()
            self.live += self.sizes[ptr]
            self.peak = max(self.peak, self.live)
        self.refs[ptr] += 1
        return _Held(self, ptr, tensor.detach())  # detached: holding an output with its grad_fn would be a cycle

    @staticmethod
    def unpack(packed: Any) -> torch.Tensor:
        return packed.tensor if isinstance(packed, _Held) else packed

    def release(self, ptr: int) -> None:
        self.refs[ptr] -= 1
        if self.refs[ptr] == 0:
            self.live -= self.sizes.pop(ptr)
            del self.refs[ptr]


class _Held:
    """A saved tensor as autograd keeps it; telling its tracker when the graph lets it go."""

    def __init__(self, tracker: SavedBytes, ptr: int, tensor: torch.Tensor) -> None:
        self.tracker, self.ptr, self.tensor = tracker, ptr, tensor

    def __del__(self) -> None:
        self.tracker.release(self.ptr)


def saved_peak_bytes(fn: Callable[[], object], params: Iterable[torch.Tensor]) -> int:
    """Peak bytes of the activations autograd holds for backward while ``fn`` runs, ``params`` not counted."""
    tracker = SavedBytes({p.untyped_storage().data_ptr() for p in params})
    with torch.autograd.graph.saved_tensors_hooks(tracker.pack, tracker.unpack):
        fn()
    return tracker.peak


def peak_bytes(fn: Callable[[], object], params: Iterable[torch.Tensor], device: torch.device) -> int:
    """Peak memory while ``fn`` runs: saved activations on the CPU, everything allocated on CUDA."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device))
    return saved_peak_bytes(fn, params)
