#!/usr/bin/env python
"""Cell-level differentiable search (DARTS, DARTS 2nd order, PC-DARTS, GDAS, DARTS-PD) as Ray Tune trials.

    python scripts/darts_search.py --method pcdarts --epochs 4 --warmup-epochs 1 --seeds 2
    python scripts/darts_search.py --method darts2 --dataset cifar10 --data-dir ~/data/cifar-10-batches-py
    python scripts/darts_search.py --method darts --params-only          # 1.93M for the DARTS search network
    python scripts/darts_search.py --space nb201 --method gdas --epochs 4   # NAS-Bench-201 cells: an arch string

Defaults are each method's paper settings (``hiernas.darts.config.method_defaults``); every flag given
overrides them explicitly. With ``--seeds N`` the seeds run as parallel trials and the derived genotypes
are ranked across seeds by their final validation accuracy (results: ``DIR/genotypes_ranked.json``,
``DIR/seed<k>_genotype.json``, cell drawings, alpha history, and for DARTS-PD the trade-off CSV/PNG).
Same as ``hiernas darts``.
"""

from hiernas.cli.darts import main

if __name__ == "__main__":
    main()
