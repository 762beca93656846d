#!/usr/bin/env python
"""Tune the inner DARTS trainer's hyper-parameters with Optuna (OptunaSearch) and an ASHA scheduler.

    python scripts/tune_inner.py --samples 8 --epochs 4

Same as ``hiernas tune-inner``.
"""

from hiernas.cli.tune_inner import main

if __name__ == "__main__":
    main()
