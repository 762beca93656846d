"""Paths through a sequence of choices, and the one decoder from a path's index to its choices.

A path picks one of ``k`` options in each of ``n`` choices (a row's candidate, an edge's operation); the
``k ** n`` paths are numbered in row-major order, the first choice most significant (as
``numpy.unravel_index`` numbers them), so the paths of a space can be sampled by index without listing them.
"""

from __future__ import annotations

from collections.abc import Iterator

Path = tuple[int, ...]


def decode_path(index: int, num_choices: int, k: int) -> Path:
    """The path number ``index`` of ``k ** num_choices``: its option per choice, first choice first."""
    if num_choices < 0 or k < 1 or not 0 <= index < k**num_choices:
        raise ValueError(f"need 0 <= index < k ** num_choices with k >= 1; got {index}, {k}, {num_choices}")
    digits = []
    for _ in range(num_choices):
        index, digit = divmod(int(index), k)
        digits.append(digit)
    return tuple(reversed(digits))


def all_paths(num_choices: int, k: int) -> Iterator[Path]:
    """Every path in index order."""
    for index in range(k**num_choices):
        yield decode_path(index, num_choices, k)
