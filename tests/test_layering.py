"""The layering rule: spaces and searchers never import torch or hiernas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_spaces_and_searchers_do_not_import_torch_or_hiernas() -> None:
    code = (
        "import spaces, spaces.dag, searchers, searchers.fade, searchers.evolution, searchers.random, sys; "
        "assert 'torch' not in sys.modules and 'hiernas' not in sys.modules"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
