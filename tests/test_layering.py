"""The import rules: only ``hiernas.tune`` imports Ray; spaces and searchers never import torch or hiernas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_spaces_and_searchers_do_not_import_torch_or_hiernas() -> None:
    completed = _run(
        "import spaces, spaces.dag, spaces.darts, searchers, searchers.fade, searchers.evolution, "
        "searchers.random, searchers.registry, sys; "
        "assert 'torch' not in sys.modules and 'hiernas' not in sys.modules"
    )
    assert completed.returncode == 0, completed.stderr


def test_parsers_and_configs_load_without_torch() -> None:
    # --help and bad flags answer at once, and the benchmarks share the parser types without loading torch
    completed = _run(
        "import hiernas.cli.common, hiernas.config, hiernas.fade.config, hiernas.stats, sys; "
        "assert 'torch' not in sys.modules, 'torch loaded'"
    )
    assert completed.returncode == 0, completed.stderr


def test_only_hiernas_tune_imports_ray() -> None:
    completed = _run(
        "import importlib, pathlib, sys, hiernas\n"
        "root = pathlib.Path(hiernas.__file__).parent\n"
        "names = sorted('.'.join(('hiernas',) + p.relative_to(root).with_suffix('').parts).removesuffix('.__init__')\n"
        "               for p in root.rglob('*.py'))\n"
        "outside = [n for n in names if not n.startswith('hiernas.tune')]\n"
        "for name in outside: importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.'))\n"
        "assert not loaded, loaded[:5]\n"
        "assert {'hiernas.cli.main', 'hiernas.fade.trial', 'hiernas.darts.search'} <= set(outside)\n"
        "print(len(outside))\n"
    )
    assert completed.returncode == 0, completed.stderr
    assert int(completed.stdout.strip()) >= 30  # every module outside hiernas/tune was imported


def test_no_sys_path_edits_in_the_repository() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for folder in ("hiernas", "searchers", "spaces", "scripts", "bench", "tests")
        for path in (REPO / folder).rglob("*.py")
        if "sys.path" in path.read_text(encoding="utf-8") and path.name != "test_layering.py"
    ]
    assert offenders == []
