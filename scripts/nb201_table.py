#!/usr/bin/env python
"""Write the CSV table (arch, accuracy) of every NAS-Bench-201 cell from the official NATS-Bench file.

    pip install nats_bench        # or: pip install -e ".[nats]"
    python scripts/nb201_table.py --nats-file ~/.torch/NATS-tss-v1_0-3ffb9-simple --out nb201_cifar10.csv

Same as ``hiernas nb201-table``.
"""

from hiernas.cli.nb201_table import main

if __name__ == "__main__":
    main()
