"""Where a trial computes and in which precision: mixed precision on CUDA (``amp``: off | bf16 | fp16)
and the peak memory a trial reports.

Mixed precision runs forward passes under ``torch.autocast``; fp16 also scales the weight loss
(``GradScaler``) so small gradients survive. Architecture steps run under autocast too but unscaled
(alpha's gradients come from a few logits, not from deep products), and the second-order step runs in
float32. On a CPU every mode computes in float32: autocast on CPUs is slower than float32 here.
"""

from __future__ import annotations

import contextlib
import logging
import resource
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import Tensor

from hiernas.checkpoint import Part
from hiernas.config import AMP_MODES, check_amp  # torch-free, so configs and parsers load without torch

__all__ = ["AMP_MODES", "FLOAT32", "Precision", "check_amp", "peak_memory_mb"]

logger = logging.getLogger(__name__)

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class Precision:
    """The precision of one trial on ``device``: autocast for forward passes, a scaler for fp16."""

    mode: str
    device: torch.device
    scaler: torch.amp.GradScaler = field(init=False)

    def __post_init__(self) -> None:
        check_amp(self.mode)
        if self.mode != "off" and self.device.type != "cuda":
            logger.info("mixed precision %s is CUDA-only; computing in float32 on %s", self.mode, self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.active and self.mode == "fp16")

    @property
    def active(self) -> bool:
        return self.mode != "off" and self.device.type == "cuda"

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Forward passes inside run in the trial's reduced precision (nothing changes when inactive)."""
        if not self.active:
            yield
            return
        with torch.autocast(self.device.type, dtype=_DTYPES[self.mode]):
            yield

    def parts(self) -> dict[str, Part]:
        """The checkpoint part of the fp16 loss scale (none when the scaler is off: nothing to restore)."""
        return {"grad_scaler": Part.of(self.scaler)} if self.scaler.is_enabled() else {}

    def forward(self, model: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
        """``model`` wrapped to run under autocast, its logits in float32 (for scoring loops)."""
        def run(x: Tensor) -> Tensor:
            with self.autocast():
                return model(x).float()

        return run


FLOAT32 = Precision("off", torch.device("cpu"))


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory so far: CUDA's peak allocated memory on a GPU, the process's peak RSS on a CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10
