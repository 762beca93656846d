#!/usr/bin/env python
"""Hierarchical NAS on Ray Tune: FaDE (default), DARTS-PD evolution or random search over DAG cells.

    python scripts/fade_search.py --depth 4 --window 6
    python scripts/fade_search.py --searcher evolution --iterations 8 --results results/evo
    python scripts/fade_search.py --address auto ...          # on a cluster started with `ray up cluster.yaml`

Same as ``hiernas search``; the flags are in ``hiernas.cli.search`` (``--help`` lists them with defaults).
"""

from hiernas.cli.search import main

if __name__ == "__main__":
    main()
