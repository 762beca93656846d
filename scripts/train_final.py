#!/usr/bin/env python
"""Train a genotype's evaluation network from scratch (one Ray Tune trial) and report test accuracy.

    python scripts/train_final.py --genotype DARTS_V2 --params-only          # 3349342 (3.3M), aux excluded
    python scripts/train_final.py --genotype results/darts_search/genotype.json --epochs 5 --channels 8 \\
        --layers 5 --cutout 2
    python scripts/train_final.py --genotype '{"normal": [["sep_conv_3x3", 0], ...], ...}'

``--genotype`` is a published name (DARTS_V1, DARTS_V2 / DARTS, PC_DARTS), a JSON file or a JSON string.
Defaults are DARTS' CIFAR-10 evaluation settings (36 channels, 20 cells, auxiliary head 0.4, drop-path
0.2, cutout 16, 600 epochs); flags scale them down explicitly. Same as ``hiernas retrain``.
"""

from hiernas.cli.retrain import main

if __name__ == "__main__":
    main()
