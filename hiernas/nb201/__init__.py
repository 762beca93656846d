"""The NAS-Bench-201 cell level in torch: its operations, the benchmark's network of a discrete cell, and the
search network the DARTS-family methods of ``hiernas.darts.search`` run on (``DartsConfig.space == "nb201"``)."""
