#!/usr/bin/env python
"""Reproduce FaDE section 3.1: Spearman's rho between FaDE ranks and stand-alone accuracy.

    python scripts/validate_ranks.py                       # embedded digits data, 10-14 minutes on 2 cores
    python scripts/validate_ranks.py --dataset cifar10 --data-dir ~/data/cifar-10-batches-py --epochs 10

Same as ``hiernas validate-ranks``.
"""

from hiernas.cli.validate_ranks import main

if __name__ == "__main__":
    main()
